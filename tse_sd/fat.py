"""Find files' sectors on a FAT12/16/32 volume through a block device: just enough FAT to
reach the TSE's mailbox files without a file system driver (MicroPython ``machine.SDCard``).

    vol = FatVolume(sdcard)              # MBR-partitioned or bare volume
    comm = vol.open("TSE_COMM.DAT")      # -> FatFile(size, extents)
    sector = comm.sector(0)              # device sector of the file's first 512-byte block

The volume is read once: boot sector (or the MBR's first FAT partition), the root directory
and the cluster chains of the files asked for. Files are described by extents (runs of
contiguous sectors), so a 1 GiB contiguous store file costs one tuple of memory. Only the
root directory and 8.3 names are searched: that is where the card keeps its files. The
block device is the MicroPython protocol: ``readblocks(n, buf)`` reads ``len(buf) // 512``
blocks starting at block ``n``.

Errors are ``OSError`` (the volume cannot be read as FAT, or the file is missing):
the card is unusable, not mistaken.
"""

import struct

from micropython import const

SECTOR = const(512)
_FAT_PARTITION_TYPES = (0x01, 0x04, 0x06, 0x0B, 0x0C, 0x0E)
_ATTR_VOLUME = const(0x08)
_ATTR_DIR = const(0x10)
_ATTR_LFN = const(0x0F)


def short_name(name):
    """``TSE_TAR.001`` -> ``b'TSE_TAR 001'``: the 11-byte directory form of an 8.3 name."""
    base, _, ext = name.upper().partition(".")
    if not 1 <= len(base) <= 8 or len(ext) > 3:
        raise ValueError("not an 8.3 file name: %r" % name)
    return (base + " " * (8 - len(base)) + ext + " " * (3 - len(ext))).encode()


def _is_boot_sector(b):
    return (
        b[510] == 0x55
        and b[511] == 0xAA
        and b[0] in (0xEB, 0xE9)
        and struct.unpack_from("<H", b, 11)[0] == SECTOR
    )


class FatFile:
    """A file's size and its extents ``(first file sector, first device sector, count)``."""

    def __init__(self, name, size, extents):
        self.name = name
        self.size = size
        self.extents = extents

    @property
    def sectors(self):
        return (self.size + SECTOR - 1) // SECTOR

    def runs(self, index, count):
        """``(device sector, n)`` runs covering file blocks ``index .. index+count-1``."""
        if index < 0 or count < 1 or index + count > self.sectors:
            raise ValueError(
                "%s has no blocks %d..%d (%d blocks)" % (self.name, index, index + count - 1, self.sectors)
            )
        out = []
        for first, dev, n in self.extents:  # sorted by file sector
            if count and first <= index < first + n:
                take = min(count, first + n - index)
                out.append((dev + index - first, take))
                index += take
                count -= take
        if count:
            raise OSError("%s: block %d is not allocated" % (self.name, index))
        return out

    def sector(self, index):
        """Device sector that holds the file's 512-byte block ``index``."""
        return self.runs(index, 1)[0][0]


class FatVolume:
    def __init__(self, dev):
        self.dev = dev
        self._buf = bytearray(SECTOR)
        self._fat_cache = -1
        self._fat_buf = bytearray(SECTOR)
        b = self._read(0)
        start = 0
        if not _is_boot_sector(b):
            if b[510] != 0x55 or b[511] != 0xAA:
                raise OSError("no FAT volume: sector 0 has no boot signature")
            for i in range(4):
                entry = 446 + 16 * i
                if b[entry + 4] in _FAT_PARTITION_TYPES:
                    start = struct.unpack_from("<I", b, entry + 8)[0]
                    break
            else:
                raise OSError("no FAT partition in the partition table")
            b = self._read(start)
            if not _is_boot_sector(b):
                raise OSError("partition at sector %d is not a FAT volume with 512-byte sectors" % start)
        spc = b[13]
        reserved, nfats, root_entries, total16, fatsz16 = struct.unpack_from("<HBHHxH", b, 14)
        total = total16 or struct.unpack_from("<I", b, 32)[0]
        fatsz = fatsz16 or struct.unpack_from("<I", b, 36)[0]
        if spc == 0 or spc & (spc - 1) or nfats == 0 or fatsz == 0:
            raise OSError("corrupt FAT boot sector")
        root_sectors = (root_entries * 32 + SECTOR - 1) // SECTOR
        self.fat_start = start + reserved
        self.data_start = self.fat_start + nfats * fatsz + root_sectors
        clusters = (total - (reserved + nfats * fatsz + root_sectors)) // spc
        self.fat_type = 12 if clusters < 4085 else 16 if clusters < 65525 else 32
        self.cluster_count = clusters
        self.sectors_per_cluster = spc
        if self.fat_type == 32:
            self.root = None
            self.root_cluster = struct.unpack_from("<I", b, 44)[0]
        else:
            self.root = (self.fat_start + nfats * fatsz, root_sectors)

    def _read(self, sector):
        self.dev.readblocks(sector, self._buf)
        return self._buf

    def _next_cluster(self, cluster):
        t = self.fat_type
        offset = cluster * 4 if t == 32 else cluster * 2 if t == 16 else cluster + cluster // 2
        sector, pos = divmod(offset, SECTOR)
        fat = self._fat_sector(sector)
        if t == 32:
            value = struct.unpack_from("<I", fat, pos)[0] & 0x0FFFFFFF
            end = value >= 0x0FFFFFF8
        elif t == 16:
            value = struct.unpack_from("<H", fat, pos)[0]
            end = value >= 0xFFF8
        else:
            lo = fat[pos]
            hi = self._fat_sector(sector + 1)[0] if pos == SECTOR - 1 else fat[pos + 1]
            value = lo | (hi << 8)
            value = value >> 4 if cluster & 1 else value & 0xFFF
            end = value >= 0xFF8
        if end:
            return None
        if value < 2 or value >= self.cluster_count + 2:
            raise OSError("corrupt FAT: cluster %d points to %d" % (cluster, value))
        return value

    def _fat_sector(self, index):
        if index != self._fat_cache:
            self.dev.readblocks(self.fat_start + index, self._fat_buf)
            self._fat_cache = index
        return self._fat_buf

    def _chain(self, cluster, max_clusters):
        """Extents ``(file sector, device sector, count)`` of a cluster chain."""
        spc = self.sectors_per_cluster
        extents = []
        n = 0
        while cluster is not None:
            if n >= max_clusters:
                raise OSError("corrupt FAT: cluster chain longer than the file")
            dev = self.data_start + (cluster - 2) * spc
            if extents and extents[-1][1] + extents[-1][2] == dev:
                first, start, count = extents[-1]
                extents[-1] = (first, start, count + spc)
            else:
                extents.append((n * spc, dev, spc))
            n += 1
            cluster = self._next_cluster(cluster)
        return extents

    def _root_sectors(self):
        if self.root is not None:
            first, count = self.root
            for s in range(first, first + count):
                yield s
        else:
            for _, dev, count in self._chain(self.root_cluster, self.cluster_count):
                for s in range(dev, dev + count):
                    yield s

    def open(self, name):
        """The root-directory file ``name`` (8.3), or ``OSError`` if it is not there."""
        want = short_name(name)
        for sector in self._root_sectors():
            b = self._read(sector)
            for off in range(0, SECTOR, 32):
                first = b[off]
                if first == 0:
                    raise OSError("%s not found on the card" % name)
                attr = b[off + 11]
                if first == 0xE5 or attr == _ATTR_LFN or attr & (_ATTR_VOLUME | _ATTR_DIR):
                    continue
                if bytes(b[off : off + 11]) == want:
                    hi, lo, size = struct.unpack_from("<H4xHI", b, off + 20)
                    cluster = (hi << 16 | lo) if self.fat_type == 32 else lo
                    if size == 0:
                        return FatFile(name, 0, [])
                    spc_bytes = self.sectors_per_cluster * SECTOR
                    extents = self._chain(cluster, (size + spc_bytes - 1) // spc_bytes)
                    return FatFile(name, size, extents)
        raise OSError("%s not found on the card" % name)
