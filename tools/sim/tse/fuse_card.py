"""The emulated card as a mounted file system (FUSE), the way embedded Linux sees a real one.

    mount = FuseCard(image, "/mnt/tse")       # TSE_COMM.DAT, TSE_INFO.DAT, TSE_TAR.001 appear
    FileTransport("/mnt/tse", DirectFile)     # hal.linux.tse_file: O_DIRECT | O_SYNC
    mount.unmount()

Each file maps onto its sectors of the card image (found with the FAT reader), so a write to
``TSE_COMM.DAT`` reaches the same mailbox as an NBD write of that sector, and a read returns
the card's answer. Files are opened with ``direct_io``: the kernel's page cache never answers
for the card, as with a real card opened O_DIRECT. Needs /dev/fuse and fusermount3
(Debian fuse3). ``python -m tools.tse card mount`` does this from the command line.
"""

import errno
import os
import stat
import subprocess
import threading
import time

import mfusepy as fuse

from tools.sim.tse.image import Disconnect


class _CardFiles(fuse.Operations):
    use_ns = True

    def __init__(self, image):
        self.image = image
        self.files = {"/TSE_COMM.DAT": image.comm_file, "/TSE_INFO.DAT": image.info_file}
        for i, f in enumerate(image.store):
            self.files["/TSE_TAR.%03d" % (i + 1)] = f
        self.made = int(time.time() * 1e9)

    def _file(self, path):
        f = self.files.get(path)
        if f is None:
            raise fuse.FuseOSError(errno.ENOENT)
        return f

    def getattr(self, path, fh=None):
        if path == "/":
            return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2, "st_mtime": self.made}
        f = self._file(path)
        return {"st_mode": stat.S_IFREG | 0o644, "st_nlink": 1, "st_size": f.size, "st_mtime": self.made}

    def readdir(self, path, fh):
        return [".", ".."] + [name[1:] for name in self.files]

    def open(self, path, fi):
        self._file(path)
        fi.direct_io = True
        return 0

    def _io(self, path, offset, length, fn):
        f = self._file(path)
        if offset % 512 or length % 512:
            raise fuse.FuseOSError(errno.EINVAL)
        length = min(length, f.size - offset)
        out = []
        pos = 0
        try:
            for sector, n in f.runs(offset // 512, length // 512) if length > 0 else ():
                out.append(fn(sector * 512, n * 512, pos))
                pos += n * 512
        except Disconnect:
            raise fuse.FuseOSError(errno.EIO) from None
        except OSError as e:
            raise fuse.FuseOSError(e.errno or errno.EIO) from None
        return out

    def read(self, path, size, offset, fh):
        return b"".join(self._io(path, offset, size, lambda at, n, pos: self.image.read(at, n)))

    def write(self, path, data, offset, fh):
        self._io(path, offset, len(data), lambda at, n, pos: self.image.write(at, bytes(data[pos : pos + n])))
        return len(data)

    def truncate(self, path, length, fh=None):
        raise fuse.FuseOSError(errno.EPERM)

    def fsync(self, path, datasync, fh):
        self.image.flush()
        return 0


class FuseCard:
    def __init__(self, image, mount_point):
        self.mount_point = mount_point
        os.makedirs(mount_point, exist_ok=True)
        self._thread = threading.Thread(
            target=fuse.FUSE,
            args=(_CardFiles(image), mount_point),
            kwargs={"foreground": True, "raw_fi": True},
            name="tse-fuse",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not os.path.ismount(mount_point):
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise OSError(
                    "could not mount the card at %s (is /dev/fuse there, fuse3 installed?)" % mount_point
                )
            time.sleep(0.02)

    def unmount(self):
        subprocess.run(["fusermount3", "-u", self.mount_point], check=False, capture_output=True)
        self._thread.join(10)
