"""BER-TLV as EMV uses it (EMV Book 3 Annex B, ISO/IEC 8825-1): device code, no I/O.

    items(data)                  # [(0x6F, b"..."), ...]: one level, tags as ints
    decode(data)                 # {0x6F: {0x84: b"...", 0xA5: {...}}}: constructed ones nested
    flatten(data)                # {0x84: b"...", 0x50: b"VISA", ...}: every primitive, any depth
    find(data, (0x6F, 0xA5, 0x50))   # the value at that path, or None
    encode(0x9F02, b"\\x00\\x00\\x00\\x00\\x12\\x50")   # one object; values may be lists of (tag, value)

A tag is one byte, or more when its low five bits are all set (``9F02``, ``BF0C``; each further
byte has bit 8 set while another follows); bit 6 of the first byte marks a constructed object.
A length is one byte below 0x80, else 0x81..0x84 and that many big-endian bytes (the indefinite
form 0x80 is not BER-TLV as EMV allows it). ``00`` and ``FF`` bytes between objects are padding
(erased or modified objects on the card) and skipped. Anything else that does not parse is a
``ProtocolError`` naming what and where: a card's answer is outside input.
"""

from core.errors import ProtocolError

MAX_TAG_BYTES = 3  # EMV tags have at most three bytes (Book 3 Annex B1)
MAX_DEPTH = 8  # templates in templates: deeper is not a card's answer


def read_tag(data, i, n):
    """The tag starting at ``data[i]`` (of ``n`` bytes) and the index after it."""
    start = i
    tag = data[i]
    i += 1
    if tag & 0x1F == 0x1F:
        while True:
            if i >= n:
                raise ProtocolError("TLV tag %X cut off at byte %d" % (tag, i))
            b = data[i]
            tag = (tag << 8) | b
            i += 1
            if not b & 0x80:
                break
            if i - start >= MAX_TAG_BYTES:
                raise ProtocolError("TLV tag longer than %d bytes at byte %d" % (MAX_TAG_BYTES, start))
    return tag, i


def read_length(data, i, n, tag):
    """The length starting at ``data[i]`` and the index after it (``tag`` names it in errors)."""
    if i >= n:
        raise ProtocolError("TLV length of tag %X missing" % tag)
    length = data[i]
    i += 1
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4:
            raise ProtocolError("TLV length form %02X of tag %X not supported" % (length, tag))
        if i + count > n:
            raise ProtocolError("TLV length of tag %X cut off" % tag)
        length = 0
        for b in data[i : i + count]:
            length = (length << 8) | b
        i += count
    return length, i


def items(data):
    """The (tag, value) pairs of one level; a constructed value is left as bytes."""
    out = []
    i, n = 0, len(data)
    while i < n:
        if data[i] in (0x00, 0xFF):
            i += 1
            continue
        tag, i = read_tag(data, i, n)
        length, i = read_length(data, i, n, tag)
        if i + length > n:
            raise ProtocolError(
                "TLV value of tag %X runs past the data (%d > %d bytes)" % (tag, length, n - i)
            )
        out.append((tag, bytes(data[i : i + length])))
        i += length
    return out


def constructed(tag):
    """Whether ``tag`` (an int) is a constructed object: bit 6 of its first byte."""
    while tag > 0xFF:
        tag >>= 8
    return bool(tag & 0x20)


def decode(data, _depth=0):
    """All levels as nested dicts; a tag seen twice on one level keeps its first value."""
    if _depth > MAX_DEPTH:
        raise ProtocolError("TLV nested deeper than %d levels" % MAX_DEPTH)
    out = {}
    for tag, value in items(data):
        if tag not in out:
            out[tag] = decode(value, _depth + 1) if constructed(tag) else value
    return out


def flatten(data, into=None, _depth=0):
    """Every primitive object at any depth, ``{tag: value}``; the first of a tag wins."""
    if _depth > MAX_DEPTH:
        raise ProtocolError("TLV nested deeper than %d levels" % MAX_DEPTH)
    out = {} if into is None else into
    for tag, value in items(data):
        if constructed(tag):
            flatten(value, out, _depth + 1)
        elif tag not in out:
            out[tag] = value
    return out


def find(data, path):
    """The value at ``path`` (tags, outermost first), or ``None``."""
    for tag, value in items(data):
        if tag == path[0]:
            return value if len(path) == 1 else find(value, path[1:])
    return None


def _be(number):
    """``number`` in as few big-endian bytes as it takes (at least one)."""
    n = 1
    while number >> (8 * n):
        n += 1
    return bytes((number >> (8 * (n - 1 - i))) & 0xFF for i in range(n))


def tag_bytes(tag):
    return _be(tag)


def length_bytes(n):
    if n < 0x80:
        return bytes((n,))
    body = _be(n)
    return bytes((0x80 | len(body),)) + body


def encode(tag, value):
    """One object: ``value`` is bytes, or a list of (tag, value) pairs for a template."""
    if isinstance(value, list):
        value = b"".join(encode(t, v) for t, v in value)
    return tag_bytes(tag) + length_bytes(len(value)) + bytes(value)
