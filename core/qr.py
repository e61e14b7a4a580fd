"""QR Code (model 2, ISO/IEC 18004) in byte mode (device code: the customer screen shows QR
codes — the digital receipt, QR payments — and MicroPython has no QR library).

    code = encode(b"https://example.org/r#key", ecl="M")   # the smallest version that fits
    code.size, code.version, code.mask                     # modules a side (21 + 4 per version)
    code.dark(x, y)                                        # True for a dark module
    encode(data, "Q", version=7, mask=3)                   # both fixed (the tests compare)

The data is one byte-mode segment (mode 0100, an 8-bit count up to version 9, 16 bits from
10), the terminator, pad bytes EC 11; the codewords split into the standard's blocks with
Reed-Solomon error correction over GF(256) (polynomial 0x11D), interleaved, placed in the
zig-zag around the finder, timing and alignment patterns, masked with the mask of the lowest
penalty (rules N1-N4, unless one is given), then the BCH-coded format (and, from version 7,
version) information. Too much data for version 40 at that level is a ``ValueError``.
Checked module for module against segno (tests/host/test_qr.py), and read back by zxing-cpp
from the panel's pixels.
"""

_ECL = {"L": (0, 1), "M": (1, 0), "Q": (2, 3), "H": (3, 2)}  # index into the tables, format bits
# Error correction codewords per block, and the number of blocks, by level and version (1-40).
_ECC_PER_BLOCK = (
    (7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28,
     28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30),
    (10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
     26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28),
    (13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30,
     28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30),
    (17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28,
     30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30),
)  # fmt: skip
_BLOCKS = (
    (1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8,
     8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25),
    (1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
     17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49),
    (1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20,
     23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68),
    (1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25,
     25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81),
)  # fmt: skip


# N3: dark-light-dark x3-light-dark with four light modules before or after it
_FINDER_LIKE = (bytes((1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0)), bytes((0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1)))


def _raw_modules(ver):
    """Modules left for data and error correction once the function patterns are placed."""
    n = (16 * ver + 128) * ver + 64
    if ver >= 2:
        align = ver // 7 + 2
        n -= (25 * align - 10) * align - 55
        if ver >= 7:
            n -= 36
    return n


def _data_codewords(ver, ecl):
    return _raw_modules(ver) // 8 - _ECC_PER_BLOCK[ecl][ver - 1] * _BLOCKS[ecl][ver - 1]


def _alignment(ver):
    if ver == 1:
        return []
    count = ver // 7 + 2
    step = (ver * 8 + count * 3 + 5) // (count * 4 - 4) * 2
    size = ver * 4 + 17
    out = [size - 7 - i * step for i in range(count - 1)] + [6]
    out.reverse()
    return out


# --- Reed-Solomon over GF(256) ----------------------------------------------------------------


def _mul(x, y):
    z = 0
    for i in range(7, -1, -1):
        z = (z << 1) ^ ((z >> 7) * 0x11D)
        z ^= ((y >> i) & 1) * x
    return z & 0xFF


def _divisor(degree):
    out = bytearray(degree)
    out[-1] = 1
    root = 1
    for _ in range(degree):
        for j in range(degree):
            out[j] = _mul(out[j], root)
            if j + 1 < degree:
                out[j] ^= out[j + 1]
        root = _mul(root, 0x02)
    return out


def _remainder(data, divisor):
    out = bytearray(len(divisor))
    for b in data:
        factor = b ^ out[0]
        out[:-1] = out[1:]
        out[-1] = 0
        for i in range(len(out)):
            out[i] ^= _mul(divisor[i], factor)
    return out


# --- the codewords ----------------------------------------------------------------------------


def _codewords(data, ver, ecl):
    bits = []

    def put(value, n):
        for i in range(n - 1, -1, -1):
            bits.append((value >> i) & 1)

    put(0b0100, 4)
    put(len(data), 8 if ver <= 9 else 16)
    for b in data:
        put(b, 8)
    capacity = _data_codewords(ver, ecl) * 8
    put(0, min(4, capacity - len(bits)))
    put(0, (-len(bits)) % 8)
    words = bytearray()
    for i in range(0, len(bits), 8):
        v = 0
        for bit in bits[i : i + 8]:
            v = (v << 1) | bit
        words.append(v)
    pad = 0xEC
    while len(words) < capacity // 8:
        words.append(pad)
        pad ^= 0xEC ^ 0x11
    # blocks, error correction, interleaving
    nblocks, ecc = _BLOCKS[ecl][ver - 1], _ECC_PER_BLOCK[ecl][ver - 1]
    raw = _raw_modules(ver) // 8
    short = raw // nblocks - ecc  # data codewords in a short block; the last ones have one more
    longs = raw % nblocks
    divisor = _divisor(ecc)
    blocks, at = [], 0
    for i in range(nblocks):
        n = short + (1 if i >= nblocks - longs else 0)
        part = words[at : at + n]
        at += n
        blocks.append((part, _remainder(part, divisor)))
    out = bytearray()
    for i in range(short + 1):
        for part, _ in blocks:
            if i < len(part):
                out.append(part[i])
    for i in range(ecc):
        for _, rem in blocks:
            out.append(rem[i])
    return out


# --- the matrix -------------------------------------------------------------------------------


class Code:
    """A QR symbol: ``size`` modules a side; ``dark(x, y)``; ``version``, ``mask``."""

    def __init__(self, version, ecl):
        self.version = version
        self.size = version * 4 + 17
        self.ecl = ecl
        self.mask = None
        self._dark = [bytearray(self.size) for _ in range(self.size)]
        self._fixed = [bytearray(self.size) for _ in range(self.size)]

    def dark(self, x, y):
        return bool(self._dark[y][x])

    def _set(self, x, y, dark):
        self._dark[y][x] = 1 if dark else 0
        self._fixed[y][x] = 1

    def _finder(self, cx, cy):
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                x, y = cx + dx, cy + dy
                if 0 <= x < self.size and 0 <= y < self.size:
                    d = max(abs(dx), abs(dy))
                    self._set(x, y, d not in (2, 4))

    def _functions(self):
        size = self.size
        for i in range(size):
            self._set(6, i, i % 2 == 0)
            self._set(i, 6, i % 2 == 0)
        self._finder(3, 3)
        self._finder(size - 4, 3)
        self._finder(3, size - 4)
        positions = _alignment(self.version)
        last = len(positions) - 1
        for i, cx in enumerate(positions):
            for j, cy in enumerate(positions):
                if (i == 0 and j == 0) or (i == 0 and j == last) or (i == last and j == 0):
                    continue  # where the finders are
                for dy in range(-2, 3):
                    for dx in range(-2, 3):
                        self._set(cx + dx, cy + dy, max(abs(dx), abs(dy)) != 1)
        self._format(0)  # reserves the format areas (drawn again with the mask)
        if self.version >= 7:
            rem = self.version
            for _ in range(12):
                rem = (rem << 1) ^ ((rem >> 11) * 0x1F25)
            bits = (self.version << 12) | rem
            for i in range(18):
                bit = (bits >> i) & 1
                a, b = size - 11 + i % 3, i // 3
                self._set(a, b, bit)
                self._set(b, a, bit)

    def _format(self, mask):
        data = (_ECL[self.ecl][1] << 3) | mask
        rem = data
        for _ in range(10):
            rem = (rem << 1) ^ ((rem >> 9) * 0x537)
        bits = ((data << 10) | rem) ^ 0x5412
        size = self.size
        for i in range(6):
            self._set(8, i, (bits >> i) & 1)
        self._set(8, 7, (bits >> 6) & 1)
        self._set(8, 8, (bits >> 7) & 1)
        self._set(7, 8, (bits >> 8) & 1)
        for i in range(9, 15):
            self._set(14 - i, 8, (bits >> i) & 1)
        for i in range(8):
            self._set(size - 1 - i, 8, (bits >> i) & 1)
        for i in range(8, 15):
            self._set(8, size - 15 + i, (bits >> i) & 1)
        self._set(8, size - 8, 1)  # the dark module

    def _place(self, words):
        size, i = self.size, 0
        total = len(words) * 8
        right = size - 1
        while right >= 1:
            if right == 6:
                right = 5
            for vert in range(size):
                for j in range(2):
                    x = right - j
                    upward = ((right + 1) & 2) == 0
                    y = size - 1 - vert if upward else vert
                    if not self._fixed[y][x] and i < total:
                        self._dark[y][x] = (words[i >> 3] >> (7 - (i & 7))) & 1
                        i += 1
            right -= 2

    def _apply(self, mask):
        for y in range(self.size):
            row, fixed = self._dark[y], self._fixed[y]
            for x in range(self.size):
                if fixed[x]:
                    continue
                if mask == 0:
                    flip = (x + y) % 2 == 0
                elif mask == 1:
                    flip = y % 2 == 0
                elif mask == 2:
                    flip = x % 3 == 0
                elif mask == 3:
                    flip = (x + y) % 3 == 0
                elif mask == 4:
                    flip = (x // 3 + y // 2) % 2 == 0
                elif mask == 5:
                    flip = x * y % 2 + x * y % 3 == 0
                elif mask == 6:
                    flip = (x * y % 2 + x * y % 3) % 2 == 0
                else:
                    flip = ((x + y) % 2 + x * y % 3) % 2 == 0
                if flip:
                    row[x] ^= 1

    def _penalty(self):
        size, d = self.size, self._dark
        score = 0
        lines = [bytes(r) for r in d] + [bytes(d[y][x] for y in range(size)) for x in range(size)]
        for line in lines:  # N1: runs of five or more; N3: the finder-like 1:1:3:1:1 with space
            run, prev = 0, -1
            for v in line:
                if v == prev:
                    run += 1
                else:
                    if run >= 5:
                        score += run - 2
                    run, prev = 1, v
            if run >= 5:
                score += run - 2
            padded = bytes(4) + line + bytes(4)
            for k in range(len(padded) - 10):
                if padded[k : k + 11] in _FINDER_LIKE:
                    score += 40
        for y in range(size - 1):  # N2: 2x2 blocks of one colour
            for x in range(size - 1):
                v = d[y][x]
                if v == d[y][x + 1] == d[y + 1][x] == d[y + 1][x + 1]:
                    score += 3
        dark = sum(sum(r) for r in d)  # N4: 10 for each 5 % away from half dark
        total = size * size
        score += ((abs(dark * 20 - total * 10) + total - 1) // total - 1) * 10
        return score


def encode(data, ecl="M", version=None, mask=None):
    if ecl not in _ECL:
        raise ValueError("error correction level is L, M, Q or H, not %r" % (ecl,))
    level = _ECL[ecl][0]
    if version is None:
        for v in range(1, 41):
            if _fits(data, v, level):
                version = v
                break
        else:
            raise ValueError("%d bytes do not fit a QR code at level %s" % (len(data), ecl))
    elif not 1 <= version <= 40 or not _fits(data, version, level):
        raise ValueError("%d bytes do not fit version %r at level %s" % (len(data), version, ecl))
    words = _codewords(data, version, level)
    best = None
    for m in range(8) if mask is None else (mask,):
        code = Code(version, ecl)
        code._functions()
        code._place(words)
        code._apply(m)
        code._format(m)
        code.mask = m
        if mask is not None:
            return code
        score = code._penalty()
        if best is None or score < best[0]:
            best = (score, code)
    return best[1]


def _fits(data, ver, level):
    bits = 4 + (8 if ver <= 9 else 16) + 8 * len(data)
    return bits <= _data_codewords(ver, level) * 8 and len(data) < (256 if ver <= 9 else 65536)
