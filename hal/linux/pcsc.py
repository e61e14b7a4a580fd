"""A PC/SC card reader slot through pyscard (CPython): USB CCID readers on a Linux terminal,
and in the simulator the virtual reader vpcd inside pcscd.

    reader = PcscReader("Virtual PCD 00 00")      # a reader name, or its start
    reader.present(); reader.power_on(); reader.transmit(apdu)
"""

from smartcard.Exceptions import CardConnectionException, NoCardException
from smartcard.System import readers

from core.errors import DeviceError
from hal.cardreader import CardReader, CardRemoved, NoCard, ReaderCaps, check_rapdu


def find_reader(name):
    """The first PC/SC reader whose name starts with ``name``."""
    try:
        found = readers()
    except Exception as e:  # pyscard raises its own classes for "no service" / "no readers"
        raise DeviceError("PC/SC not available (is pcscd running?): %s" % (e,))
    for r in found:
        if str(r).startswith(name):
            return r
    raise DeviceError(
        "no card reader %r (PC/SC has: %s)" % (name, ", ".join(str(r) for r in found) or "none")
    )


class PcscReader(CardReader):
    def __init__(self, name, contactless=False):
        self.reader = find_reader(name)
        self.caps = ReaderCaps(contact=not contactless, contactless=contactless, name=str(self.reader))
        self.conn = None

    def present(self):
        conn = self.reader.createConnection()
        try:
            conn.connect()
        except (NoCardException, CardConnectionException):
            return False
        finally:
            conn.disconnect()
            conn.release()
        return True

    def power_on(self):
        self.power_off()
        conn = self.reader.createConnection()
        try:
            conn.connect()
        except (NoCardException, CardConnectionException) as e:
            conn.release()
            raise NoCard("no card in %s: %s" % (self.caps.name, e))
        self.conn = conn
        return bytes(conn.getATR())

    def transmit(self, apdu):
        if len(apdu) < 4:
            raise ValueError("a C-APDU has at least 4 bytes")
        if self.conn is None:
            raise NoCard("card in %s not powered on" % self.caps.name)
        try:
            data, sw1, sw2 = self.conn.transmit(list(apdu))
        except CardConnectionException as e:
            self.power_off()
            raise CardRemoved("card removed from %s (%s)" % (self.caps.name, e))
        return check_rapdu(bytes(data) + bytes((sw1, sw2)))

    def power_off(self):
        if self.conn is not None:
            try:
                self.conn.disconnect()
            except CardConnectionException:
                pass
            self.conn.release()
            self.conn = None


def create(s, board):
    """Board driver ``pcsc-reader``."""
    return PcscReader(s.str("reader"), contactless=s.bool("contactless", False))
