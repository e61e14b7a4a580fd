"""The scale (device code, both runtimes): the weight of what lies on it, in grams.

    scale = board.get("scale")         # driver serial-scale: any link (TCP, UART, pyserial)
    grams = await scale.weight()       # or ScaleError: in motion, over capacity, under zero ...

The wire is the NCI/"ECR" scale protocol that retail scales speak to registers (Avery
Berkel, Brecknell, Ohaus and others call it NCI, SCP-02 or "ECR format"): the register sends
``W`` CR; the scale answers ``LF`` the weight as its display shows it with the unit
(``01.250KG``) ``CR``, then ``LF`` ``S`` and two status bytes ``CR`` ``ETX``. When the weight
cannot be used (in motion, over capacity, under zero, not zeroed) only the status comes:
``LF S hh CR ETX``. Status byte 1: bit 0 in motion, bit 1 at zero, bit 2 RAM error, bit 3
EEPROM error; byte 2: bit 0 under capacity, bit 1 over capacity, bit 2 ROM error, bit 3 faulty
calibration; bits 4-5 are always 1 and bit 6 always 0 (so ``S00`` is a good status; a parity
bit 7 is masked off). Units ``KG`` and ``G``; ``LB``/``OZ`` are refused (German retail sells
by the kilogram).

``parse(reply)`` is the sans-I/O part: the grams, or ``ScaleError`` naming what is wrong. A
reply that is not this protocol is a ``ScaleError`` too: the article is then weighed by hand.
"""

from core.errors import DeviceError, EcrError

LF, CR, ETX = 0x0A, 0x0D, 0x03
REQUEST = b"W\r"
MAX_REPLY = 64
PROBLEMS_1 = ((0x01, "Waage in Bewegung"), (0x04, "Waage: RAM-Fehler"), (0x08, "Waage: EEPROM-Fehler"))
PROBLEMS_2 = ((0x01, "Waage unter Null"), (0x02, "Waage überlastet"), (0x04, "Waage: ROM-Fehler"))
PROBLEMS_2 += ((0x08, "Waage nicht kalibriert"),)


class ScaleError(EcrError):
    """The scale gave no weight the till may use."""


def _status(field):
    if len(field) != 3 or field[0] != ord("S"):
        raise ScaleError("Waage: Status %r ist keiner" % (bytes(field),))
    one, two = field[1], field[2]
    if one & 0x70 != 0x30 or two & 0x70 != 0x30:
        raise ScaleError("Waage: Status %r ist keiner" % (bytes(field),))
    for bits, what in PROBLEMS_1:
        if one & bits:
            return what
    for bits, what in PROBLEMS_2:
        if two & bits:
            return what
    return None


def _grams(field):
    text = bytes(field).decode()
    unit = text.lstrip("0123456789. ").upper() if text else ""
    number = text[: len(text) - len(unit)].strip()
    if (
        unit not in ("KG", "G")
        or not number
        or number.count(".") > 1
        or not number.replace(".", "").isdigit()
    ):
        raise ScaleError("Waage: Gewicht %r nicht lesbar" % text)
    whole, _, frac = number.partition(".")
    if unit == "G":
        if frac.strip("0"):
            raise ScaleError("Waage: Gewicht %r nicht in ganzen Gramm" % text)
        return int(whole or "0")
    if len(frac) > 3:
        raise ScaleError("Waage: Gewicht %r feiner als ein Gramm" % text)
    return int(whole or "0") * 1000 + int((frac + "000")[:3])


def parse(reply):
    """The grams of a complete reply (ending in ETX), or ScaleError."""
    reply = bytes(b & 0x7F for b in reply)  # a 7-bit line's parity bit
    if not reply or reply[-1] != ETX:
        raise ScaleError("Waage: Antwort ohne ETX")
    fields = [f.strip(b"\n") for f in reply[:-1].split(b"\r") if f.strip(b"\n")]
    if len(fields) not in (1, 2) or any(b < 0x20 or b > 0x7E for f in fields for b in f):
        raise ScaleError("Waage: Antwort %r nicht lesbar" % (bytes(reply[:40]),))
    problem = _status(fields[-1])
    if problem:
        raise ScaleError(problem)
    if len(fields) == 1:
        raise ScaleError("Waage: kein Gewicht")
    grams = _grams(fields[0])
    if grams <= 0:
        raise ScaleError("Waage: nichts aufgelegt")
    return grams


class Scale:
    def __init__(self, link, timeout_ms=1000):
        self.link = link
        self.timeout_ms = timeout_ms

    async def weight(self):
        """Ask the scale: the grams on it, or ScaleError (also when it does not answer)."""
        self.link.reset()  # a late answer to an earlier question is not this one's
        try:
            await self.link.send(REQUEST, self.timeout_ms)
            reply = bytearray()
            while not reply or reply[-1] != ETX:
                reply += await self.link.recv(MAX_REPLY, self.timeout_ms)
                if len(reply) > MAX_REPLY:
                    raise ScaleError("Waage: Antwort zu lang")
        except DeviceError as e:
            self.link.reset()
            raise ScaleError("Waage nicht erreichbar (%s)" % e)
        return parse(reply)

    def close(self):
        self.link.close()


def create(s, board):
    """Board driver ``serial-scale``: a link (``host``+``port``, ``uart``, ``serial``, ``path``)."""
    from hal.link import open_link

    return Scale(open_link(s), s.int("timeout_ms", 1000, 100, 10000))
