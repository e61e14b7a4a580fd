"""tse_sd.fat against volumes made by the real tools (dosfstools mkfs.fat, mtools), both runtimes."""

import hashlib
import json
import os
import struct
import subprocess
import sys

import pytest

from tools import upy

sys.path.insert(0, str(upy.ROOT / "tests" / "device"))
import fat_probe  # noqa: E402

RUNTIMES = ("cpython", "micropython")
MTOOLS = dict(os.environ, MTOOLS_SKIP_CHECK="1")


def probe(runtime, image, names):
    if runtime == "cpython":
        return fat_probe.probe(str(image), names)
    script = str(upy.ROOT / "tests" / "device" / "fat_probe.py")
    proc = upy.run([script, str(image)] + names, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def make_volume(path, fat, kib, offset_sectors=0, cluster_sectors=1):
    with open(path, "wb") as f:
        f.truncate((offset_sectors * 512) + kib * 1024)
    if offset_sectors:
        mbr = bytearray(512)
        struct.pack_into(
            "<B3sB3sII",
            mbr,
            446,
            0,
            b"\xfe\xff\xff",
            0x0C if fat == 32 else 0x0E,
            b"\xfe\xff\xff",
            offset_sectors,
            kib * 2,
        )
        mbr[510:] = b"\x55\xaa"
        with open(path, "r+b") as f:
            f.write(mbr)
    cmd = ["mkfs.fat", "-F", str(fat), "-s", str(cluster_sectors), "-n", "SWISSBIT"]
    if offset_sectors:
        cmd += ["--offset", str(offset_sectors)]
    subprocess.run(cmd + [str(path), str(kib)], check=True, capture_output=True)
    return "%s@@%d" % (path, offset_sectors * 512)


def mcopy(target, *files):
    subprocess.run(
        ["mcopy", "-i", target] + [str(f) for f in files] + ["::/"],
        check=True,
        capture_output=True,
        env=MTOOLS,
    )


def write(path, size, seed):
    data = hashlib.sha256(seed.encode()).digest() * (size // 32 + 1)
    path.write_bytes(data[:size])
    return hashlib.sha256(data[:size]).hexdigest()


@pytest.fixture
def files(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    sums = {}
    for name, size in (
        ("TSE_COMM.DAT", 512),
        ("TSE_INFO.DAT", 512),
        ("TSE_TAR.001", 300_000),
        ("ODD.BIN", 1000),
    ):
        sums[name] = write(src / name, size, name)
    return src, sums


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize(
    "fat, kib, offset",
    [(12, 2048, 0), (16, 16384, 0), (32, 40960, 0), (16, 16384, 2048), (32, 40960, 2048)],
    ids=["fat12", "fat16", "fat32", "fat16-mbr", "fat32-mbr"],
)
def test_files_are_found_and_read_exactly(runtime, fat, kib, offset, files, tmp_path):
    src, sums = files
    image = tmp_path / "card.img"
    target = make_volume(image, fat, kib, offset)
    # long names and many entries first, so the mailbox files are deep in the root directory
    fillers = []
    for i in range(24):
        p = tmp_path / ("A long file name number %02d.txt" % i)
        p.write_text("filler %d" % i)
        fillers.append(p)
    mcopy(target, *fillers)
    mcopy(target, *(src / n for n in sums))
    result = probe(runtime, image, list(sums) + ["TSE_TAR.002"])
    assert result["fat"] == fat
    for name, digest in sums.items():
        got = result["files"][name]
        assert got.get("sha256") == digest and got["size"] == (src / name).stat().st_size, (name, got)
    assert "not found" in result["files"]["TSE_TAR.002"]["error"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_fragmented_file_is_followed_through_its_cluster_chain(runtime, tmp_path):
    image = tmp_path / "card.img"
    target = make_volume(image, 16, 16384)
    parts = []
    for name, size in (("A.BIN", 20_000), ("B.BIN", 20_000), ("C.BIN", 20_000)):
        write(tmp_path / name, size, name)
        parts.append(tmp_path / name)
    mcopy(target, *parts)
    subprocess.run(["mdel", "-i", target, "::/B.BIN"], check=True, env=MTOOLS)
    digest = write(tmp_path / "TSE_TAR.001", 60_000, "big")
    mcopy(target, tmp_path / "TSE_TAR.001")  # fills B's hole, continues after C
    got = probe(runtime, image, ["TSE_TAR.001"])["files"]["TSE_TAR.001"]
    assert got["sha256"] == digest
    assert got["extents"] >= 2


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_not_a_fat_volume_is_a_clear_error(runtime, tmp_path):
    image = tmp_path / "junk.img"
    image.write_bytes(os.urandom(64 * 1024))
    assert "no FAT" in probe(runtime, image, ["TSE_COMM.DAT"])["error"]
    mbr = bytearray(65536)
    mbr[510:512] = b"\x55\xaa"  # a partition table with no FAT partition
    image.write_bytes(bytes(mbr))
    assert "no FAT partition" in probe(runtime, image, ["TSE_COMM.DAT"])["error"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_corrupt_cluster_chain_is_detected(runtime, files, tmp_path):
    src, sums = files
    image = tmp_path / "card.img"
    target = make_volume(image, 16, 16384)
    mcopy(target, src / "TSE_TAR.001")
    data = bytearray(image.read_bytes())
    reserved = struct.unpack_from("<H", data, 14)[0]
    fat = reserved * 512
    # the file's first cluster is 2 (first file on an empty volume): point it back at itself
    struct.pack_into("<H", data, fat + 2 * 2, 2)
    image.write_bytes(bytes(data))
    got = probe(runtime, image, ["TSE_TAR.001"])
    assert "corrupt FAT" in got["files"]["TSE_TAR.001"]["error"]
