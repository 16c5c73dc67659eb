"""Crash-safe checkpoint writes: killed saves never corrupt the target or leave temps behind,
and paths behave as ``open(path, "wb")`` does (modes, symlinks, errors)."""
import hashlib
import os
import pathlib
import random
import re
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

import gputensor as gt
from gputensor.serialization import _atomic
from gputensor.serialization._atomic import atomic_write

ATOMIC_PY = os.path.abspath(_atomic.__file__)

# A child that loads _atomic.py on its own (no gputensor import: starts in milliseconds) and saves
# self-checking ~20 MB files (sha256 of the body, then the body) over and over until killed.
CHILD = r"""
import hashlib, importlib.util, os, sys
spec = importlib.util.spec_from_file_location("_atomic", sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
target, mode, count, tag = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
if mode == "named":
    m._open_unnamed = lambda d, shown: None
size = int(sys.argv[6]) if len(sys.argv) > 6 else 20 << 20
body = bytearray(os.urandom(size))
print("ready", flush=True)
i = 0
while count < 0 or i < count:
    body[:16] = f"{tag}{i:010d}".encode()[:16].ljust(16)
    digest = hashlib.sha256(body).digest()
    with m.atomic_write(target) as fh:
        fh.write(digest)
        for k in range(0, len(body), 1 << 20):
            fh.write(body[k:k + (1 << 20)])
    i += 1
"""


def _valid(path) -> bool:
    with open(path, "rb") as fh:
        data = fh.read()
    return len(data) > 32 and hashlib.sha256(data[32:]).digest() == data[:32]


def _temps(directory, base="ckpt.bin"):
    return [n for n in os.listdir(directory) if n.startswith(f".{base}~gtmp-")]


def _child(target, mode="tmpfile", count=-1, tag="x", size=None):
    args = [sys.executable, "-c", CHILD, ATOMIC_PY, str(target), mode, str(count), tag]
    if size is not None:
        args.append(str(size))
    return subprocess.Popen(args, stdout=subprocess.PIPE)


@pytest.mark.parametrize("mode", ["tmpfile", "named"])
def test_sigkill_at_random_moments_never_corrupts_and_leaves_nothing(tmp_path, mode):
    target = tmp_path / "ckpt.bin"
    first = _child(target, mode, count=1)
    assert first.wait(30) == 0 and _valid(target)
    rnd = random.Random(7)
    left_before_cleanup = 0
    for _ in range(8):
        p = _child(target, mode)
        assert p.stdout.readline() == b"ready\n"
        time.sleep(rnd.uniform(0.0, 0.25))
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        assert p.returncode == -signal.SIGKILL
        assert _valid(target), "a killed save left a torn target"
        left_before_cleanup += len(_temps(tmp_path))
    if mode == "named":
        assert left_before_cleanup > 0, "the kills never hit a save in progress"
    print(f"{mode}: temps seen after kills before cleanup: {left_before_cleanup}")
    # one more save from a fresh process removes what killed writers left behind
    last = _child(target, mode, count=1, tag="final", size=1 << 16)
    assert last.wait(30) == 0
    assert _valid(target) and _temps(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == ["ckpt.bin"]


def test_concurrent_writers_both_finish_last_wins(tmp_path):
    target = tmp_path / "ckpt.bin"
    writers = [_child(target, mode, count=25, tag=tag, size=1 << 18)
               for mode, tag in (("tmpfile", "A"), ("named", "B"))]
    for w in writers:
        assert w.stdout.readline() == b"ready\n"
    checks = 0
    while any(w.poll() is None for w in writers):
        if target.exists():
            assert _valid(target)
            checks += 1
    assert [w.returncode for w in writers] == [0, 0]
    assert checks > 0 and _valid(target)
    assert target.read_bytes()[32:48].decode().rstrip() in ("A0000000024", "B0000000024")
    assert _temps(tmp_path) == []


def test_stale_temps_of_dead_writers_removed_live_ones_kept(tmp_path):
    target = tmp_path / "ckpt.bin"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    other_host = "00000000" if _atomic._HOST != "00000000" else "11111111"
    names = {
        "dead": f".ckpt.bin~gtmp-{dead.pid}-0-{_atomic._HOST}-0badc0de.tmp",
        "alive": f".ckpt.bin~gtmp-{os.getpid()}-0-{_atomic._HOST}-0badc0de.tmp",
        "reused": (f".ckpt.bin~gtmp-{os.getpid()}-{_atomic._start_time(os.getpid()) + 1}-"
                   f"{_atomic._HOST}-0badc0de.tmp"),
        "other_host": f".ckpt.bin~gtmp-{dead.pid}-0-{other_host}-0badc0de.tmp",
        "other_target": f".other.bin~gtmp-{dead.pid}-0-{_atomic._HOST}-0badc0de.tmp",
    }
    for n in names.values():
        (tmp_path / n).write_bytes(b"partial")
    with atomic_write(target) as fh:
        fh.write(b"new")
    left = set(os.listdir(tmp_path))
    assert names["dead"] not in left and names["reused"] not in left
    assert {names["alive"], names["other_host"], names["other_target"]} <= left
    assert target.read_bytes() == b"new"


UMASK_CHILD = r"""
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("_atomic", sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
os.umask(int(sys.argv[3], 8))
if sys.argv[4] == "named":
    m._open_unnamed = lambda d, shown: None
with m.atomic_write(sys.argv[2]) as fh:
    fh.write(b"data")
with open(sys.argv[2] + ".ref", "wb") as fh:
    fh.write(b"data")
"""


@pytest.mark.parametrize("mode", ["tmpfile", "named"])
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_new_file_mode_follows_umask_like_open(tmp_path, umask, mode):
    target = tmp_path / "new.bin"
    subprocess.run([sys.executable, "-c", UMASK_CHILD, ATOMIC_PY, str(target), oct(umask),
                    mode], check=True)
    got = stat.S_IMODE(os.stat(target).st_mode)
    assert got == 0o666 & ~umask == stat.S_IMODE(os.stat(f"{target}.ref").st_mode)


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755, 0o444])
def test_existing_file_keeps_its_mode(tmp_path, mode):
    target = tmp_path / "ckpt.pt"
    gt.save({"w": gt.ones(3)}, target)
    os.chmod(target, mode)
    gt.save({"w": gt.zeros(3)}, target)
    assert stat.S_IMODE(os.stat(target).st_mode) == mode
    np.testing.assert_array_equal(gt.load(target)["w"].numpy(), np.zeros(3, np.float32))


def test_symlink_written_through_link_stays(tmp_path):
    real = tmp_path / "store" / "real.pt"
    real.parent.mkdir()
    gt.save({"w": gt.ones(2)}, real)
    link = tmp_path / "link.pt"
    link.symlink_to(os.path.relpath(real, tmp_path))
    gt.save({"w": gt.full((2,), 5.0)}, link)
    assert link.is_symlink() and os.readlink(link) == os.path.relpath(real, tmp_path)
    np.testing.assert_array_equal(gt.load(real)["w"].numpy(), [5.0, 5.0])
    assert sorted(os.listdir(real.parent)) == ["real.pt"]


def test_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.pt"
    link.symlink_to("made.pt")
    gt.save({"w": gt.ones(2)}, link)
    assert link.is_symlink() and (tmp_path / "made.pt").is_file()
    np.testing.assert_array_equal(gt.load(tmp_path / "made.pt")["w"].numpy(), [1.0, 1.0])


def _open_error(path):
    try:
        open(path, "wb").close()
    except OSError as e:
        return e
    raise AssertionError(f"open({path!r}) succeeded")


@pytest.mark.parametrize("rel", ["missing/x.pt", "adir", "adir/", "new/", "afile/", "afile/x",
                                 "dangling_in_missing", "loop1", ""])
def test_bad_paths_raise_what_open_raises_and_leave_nothing(tmp_path, monkeypatch, rel):
    monkeypatch.chdir(tmp_path)
    os.mkdir("adir")
    open("afile", "wb").close()
    os.symlink("nowhere/x", "dangling_in_missing")
    os.symlink("loop2", "loop1")
    os.symlink("loop1", "loop2")
    before = sorted(os.listdir("."))
    want = _open_error(rel)
    # gt.save reports what torch.save reports (a RuntimeError with torch's wording) and is also
    # the OSError open() raises; atomic_write itself raises exactly what open() raises
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as torch_err:
        torch.save({"w": torch.ones(1)}, rel)
    with pytest.raises(RuntimeError) as got:
        gt.save({"w": gt.ones(1)}, rel)
    torch_text = str(torch_err.value).split("] . ", 1)[-1]
    assert str(got.value) == torch_text
    if not str(got.value).startswith("invalid file name"):
        assert isinstance(got.value, type(want)) and got.value.filename == rel
    if rel and not rel.endswith("/"):  # a Path is named as its str, as open() does
        with pytest.raises(type(want), match=re.escape(str(want))):
            with atomic_write(pathlib.Path(rel)):
                pass
    assert sorted(os.listdir(".")) == before and os.listdir("adir") == []


def test_error_inside_write_keeps_old_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "ckpt.bin"
    target.write_bytes(b"old")
    for mode in ("tmpfile", "named"):
        with pytest.raises(KeyError):
            with atomic_write(target) as fh:
                fh.write(b"partial new")
                raise KeyError(mode)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["ckpt.bin"]


def test_unlinkable_tmpfile_falls_back_to_a_copy(tmp_path, monkeypatch):
    def no_link(*args, **kwargs):
        raise OSError(18, "Invalid cross-device link")
    monkeypatch.setattr(_atomic.os, "link", no_link)
    monkeypatch.setattr(_atomic, "_NO_TMPFILE_DEVICES", set())
    target = tmp_path / "ckpt.bin"
    payload = os.urandom(3 << 20)
    with atomic_write(target) as fh:
        fh.write(payload)
    assert target.read_bytes() == payload and os.listdir(tmp_path) == ["ckpt.bin"]
    assert os.stat(tmp_path).st_dev in _atomic._NO_TMPFILE_DEVICES  # next saves go named
    with atomic_write(target) as fh:
        fh.write(b"again")
    assert target.read_bytes() == b"again" and os.listdir(tmp_path) == ["ckpt.bin"]


def test_rename_is_made_durable_by_fsyncing_the_directory(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)
    monkeypatch.setattr(_atomic.os, "fsync", spy)
    with atomic_write(tmp_path / "ckpt.bin") as fh:
        fh.write(b"x")
    assert synced == [False, True]  # the data, then the directory after the rename


def test_character_device_is_written_in_place():
    with atomic_write("/dev/null") as fh:
        fh.write(b"discarded")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_tmpfile_has_no_name_while_being_written(tmp_path):
    """On Linux the data goes to an unnamed O_TMPFILE: a kill mid-write has nothing to leave."""
    target = tmp_path / "ckpt.bin"
    with atomic_write(target) as fh:
        fh.write(b"x" * 1000)
        fh.flush()
        assert os.listdir(tmp_path) == []
    assert os.listdir(tmp_path) == ["ckpt.bin"]
