"""A PC/SC card reader slot through pyscard (CPython): USB CCID readers on a Linux terminal,
and in the simulator the virtual reader vpcd inside pcscd.

    reader = PcscReader("Virtual PCD 00 00")      # a reader name, or its start
    await reader.present(); await reader.power_on(); await reader.transmit(apdu)

pyscard's calls wait in pcsc-lite (a card's slow answer, a reader's timeout): they run on the
reader's own worker thread (hal/linux/worker.py).
"""

from smartcard.Exceptions import CardConnectionException, NoCardException
from smartcard.System import readers

from core.errors import DeviceError
from hal.cardreader import CardReader, CardRemoved, NoCard, ReaderCaps, check_rapdu
from hal.linux.worker import Worker


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
        self.worker = Worker("pcsc")

    async def present(self):
        return await self.worker.run(self._present)

    def _present(self):
        conn = self.reader.createConnection()
        try:
            conn.connect()
        except (NoCardException, CardConnectionException):
            return False
        finally:
            conn.disconnect()
            conn.release()
        return True

    async def power_on(self):
        await self.power_off()
        self.conn = await self.worker.run(self._connect)
        return bytes(self.conn.getATR())

    def _connect(self):
        conn = self.reader.createConnection()
        try:
            conn.connect()
        except (NoCardException, CardConnectionException) as e:
            conn.release()
            raise NoCard("no card in %s: %s" % (self.caps.name, e))
        return conn

    async def transmit(self, apdu):
        if len(apdu) < 4:
            raise ValueError("a C-APDU has at least 4 bytes")
        if self.conn is None:
            raise NoCard("card in %s not powered on" % self.caps.name)
        try:
            data, sw1, sw2 = await self.worker.run(self.conn.transmit, list(apdu))
        except CardConnectionException as e:
            await self.power_off()
            raise CardRemoved("card removed from %s (%s)" % (self.caps.name, e))
        return check_rapdu(bytes(data) + bytes((sw1, sw2)))

    async def power_off(self):
        conn, self.conn = self.conn, None
        if conn is not None:
            await self.worker.run(self._release, conn)

    @staticmethod
    def _release(conn):
        try:
            conn.disconnect()
        except CardConnectionException:
            pass
        conn.release()

    def close(self):
        if self.conn is not None:
            self._release(self.conn)
            self.conn = None
        self.worker.close()


def create(s, board):
    """Board driver ``pcsc-reader``."""
    return PcscReader(s.str("reader"), contactless=s.bool("contactless", False))
