"""Crash-safe writes that match ``open(path, "wb")`` and leave nothing behind.

The data goes to a temp file beside the target, is fsynced, then renamed over the target, and
the directory is fsynced so the rename itself survives a power cut: a reader (or a crash) sees
the old complete file or the new complete one, never a torn one.

On Linux the temp file is an unnamed ``O_TMPFILE`` inode, given a name only once it is complete
and renamed at once, so a writer killed mid-save leaves nothing at all. Where that is not
possible (other systems, filesystems without ``O_TMPFILE``) the temp file is named. Either way
temp names carry the writer's pid (``.<name>~gtmp-<pid>-<start>-<host>-<token>.tmp``) and every
save removes the stale temps of its target whose writer is gone, so even a killed save on the
fallback path leaves nothing for ever. A temp whose writer still runs is never touched, so two
processes saving one target both finish, the last rename winning.

Like ``open()``: a new file gets ``0o666 & ~umask`` (the kernel applies the umask and any default
ACL, as it does for ``open``), an existing file keeps its permission bits (and, where allowed,
its owner), a symlink is written through (the link stays a link; a dangling one creates its
target), and bad paths raise the same exception, message and filename as ``open(path, "wb")``.
Targets that are not regular files (``/dev/null``, a FIFO) cannot be replaced by a rename, so
they are written directly, as ``open`` would.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import socket
import stat
import zlib
from typing import IO, Iterator

_POSIX_DIRS = hasattr(os, "O_DIRECTORY") and {os.rename, os.link} <= os.supports_dir_fd
_TMP_RE = re.compile(r"~gtmp-(\d+)-(\d+)-([0-9a-f]{8})-[0-9a-f]{8}\.tmp$")
_STEM_BYTES = 150  # room for the suffix within the usual 255-byte name limit
_NO_TMPFILE_DEVICES: set[int] = set()  # filesystems where an O_TMPFILE could not be linked in
_HOST = f"{zlib.crc32(socket.gethostname().encode()):08x}"
_START_TIMES: dict[int, int] = {}


def _open_error(code: int | None, shown) -> OSError:
    """The exception ``open(shown, "wb")`` raises for ``code`` (its subclass picked by errno)."""
    code = code or errno.EIO
    return OSError(code, os.strerror(code), shown)


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks) of ``pid`` from /proc, or None where unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return fields[0].decode(), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _start_time(pid: int) -> int:
    if pid not in _START_TIMES:
        info = _proc_stat(pid)
        _START_TIMES[pid] = info[1] if info else 0
    return _START_TIMES[pid]


def _writer_alive(pid: int, start: int) -> bool:
    """Whether the process that made a temp may still be writing it (pid reuse is detected by
    its start time; a zombie writes nothing more)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass  # exists but belongs to someone else
    info = _proc_stat(pid)
    if info is None:
        return True
    state, started = info
    return state not in ("Z", "X") and (start == 0 or started == start)


class _Dir:
    """The target's directory, by fd where the platform allows (immune to renames meanwhile)."""

    def __init__(self, path: str, shown):
        self.path, self.fd = path, None
        if _POSIX_DIRS:
            try:
                self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError as e:
                raise _open_error(e.errno, shown) from None
        elif not os.path.isdir(path):
            raise _open_error(errno.ENOENT if not os.path.exists(path) else errno.ENOTDIR, shown)

    def at(self, name: str) -> tuple[str, dict]:
        return (name, {"dir_fd": self.fd}) if self.fd is not None else \
            (os.path.join(self.path, name), {})

    def unlink(self, name: str) -> None:
        p, kw = self.at(name)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p, **kw)

    def listdir(self) -> list[str]:
        return os.listdir(self.fd if self.fd is not None else self.path)

    def fsync(self) -> None:
        if self.fd is not None:
            try:
                os.fsync(self.fd)
            except OSError as e:  # some filesystems cannot sync a directory
                if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
                    raise

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


def _stem(base: str) -> str:
    return os.fsdecode(os.fsencode(base)[:_STEM_BYTES])


def _temp_name(base: str, pid: int) -> str:
    return (f".{_stem(base)}~gtmp-{pid}-{_start_time(pid)}-{_HOST}-"
            f"{secrets.token_hex(4)}.tmp")


def _remove_stale(d: _Dir, base: str) -> None:
    """Delete temps of this target left by writers that are gone (killed, crashed)."""
    prefix = f".{_stem(base)}~gtmp-"
    try:
        names = d.listdir()
    except OSError:
        return
    for name in names:
        if not name.startswith(prefix):
            continue
        m = _TMP_RE.fullmatch(name, len(prefix) - len("~gtmp-"))
        if m and m.group(3) == _HOST and not _writer_alive(int(m.group(1)), int(m.group(2))):
            d.unlink(name)


def _resolve(path: str, shown) -> tuple[str, os.stat_result | None]:
    """The file ``open(path, "wb")`` would write (symlinks followed) and its stat, if it exists;
    raises what ``open`` raises for directories, symlink loops and non-directory parents."""
    if path == "":
        raise _open_error(errno.ENOENT, shown)
    if path.endswith(os.sep) or (os.altsep and path.endswith(os.altsep)):
        raise _open_error(errno.EISDIR, shown)
    target = os.path.realpath(path)
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return target, None
    except OSError as e:
        raise _open_error(e.errno, shown) from None
    if stat.S_ISLNK(st.st_mode):  # realpath stopped on a loop
        raise _open_error(errno.ELOOP, shown)
    if stat.S_ISDIR(st.st_mode):
        raise _open_error(errno.EISDIR, shown)
    if stat.S_ISREG(st.st_mode) and not os.access(target, os.W_OK):
        raise _open_error(errno.EACCES, shown)
    return target, st


def _open_unnamed(d: _Dir, shown) -> int | None:
    """An ``O_TMPFILE`` fd in ``d`` (read-write so it can be copied out if linking fails), or
    None where unsupported."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag or d.fd is None:
        return None
    try:
        st = os.fstat(d.fd)
        if st.st_dev in _NO_TMPFILE_DEVICES:
            return None
        return os.open(".", flag | os.O_RDWR | os.O_CLOEXEC, 0o666, dir_fd=d.fd)
    except OSError as e:
        if e.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
            return None  # no O_TMPFILE here (ENOENT: old kernels, some filesystems)
        raise _open_error(e.errno, shown) from None


def _open_named(d: _Dir, base: str, shown) -> tuple[int, str]:
    while True:
        name = _temp_name(base, os.getpid())
        p, kw = d.at(name)
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
            return os.open(p, flags | getattr(os, "O_BINARY", 0), 0o666, **kw), name
        except FileExistsError:
            continue
        except OSError as e:
            raise _open_error(e.errno, shown) from None


def _name_unnamed(d: _Dir, fd: int, base: str, shown) -> str:
    """Give the complete unnamed temp a name; copy it into a named temp where linking fails."""
    name = _temp_name(base, os.getpid())
    try:
        os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=d.fd, follow_symlinks=True)
        return name
    except OSError as e:
        if e.errno not in (errno.ENOENT, errno.EXDEV, errno.EPERM, errno.EACCES,
                           errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        _NO_TMPFILE_DEVICES.add(os.fstat(fd).st_dev)
    out, name = _open_named(d, base, shown)
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        while chunk := os.read(fd, 1 << 24):
            os.write(out, chunk)
        os.fsync(out)
    except BaseException:
        os.close(out)
        d.unlink(name)
        raise
    os.close(out)
    return name


def _match_existing(fd: int, st: os.stat_result | None) -> None:
    """An overwritten file keeps its permission bits (and owner where we may set it)."""
    if st is None:
        return
    os.fchmod(fd, stat.S_IMODE(st.st_mode) & ~(stat.S_ISUID | stat.S_ISGID))
    if hasattr(os, "fchown") and (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
        with contextlib.suppress(OSError):
            os.fchown(fd, st.st_uid, st.st_gid)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """Yield a binary file; on clean exit it replaces ``path`` atomically, on error it vanishes.

    Errors for unusable paths are those of ``open(path, "wb")`` (FileNotFoundError,
    IsADirectoryError, NotADirectoryError, PermissionError), raised before anything is written.
    """
    shown = os.fspath(path)  # open() names the file as str (or bytes), never as a Path
    path = os.fsdecode(shown)
    target, st = _resolve(path, shown)
    if st is not None and not stat.S_ISREG(st.st_mode):  # a device or FIFO: write in place
        with open(target, "wb") as fh:
            yield fh
        return
    base = os.path.basename(target)
    d = _Dir(os.path.dirname(target), shown)
    try:
        _remove_stale(d, base)
        fd = _open_unnamed(d, shown)
        name = None
        if fd is None:
            fd, name = _open_named(d, base, shown)
        try:
            with os.fdopen(fd, "w+b" if name is None else "wb") as fh:
                _match_existing(fh.fileno(), st)
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
                if name is None:
                    name = _name_unnamed(d, fh.fileno(), base, shown)
            src, kw = d.at(name)
            dst, _ = d.at(base)
            os.replace(src, dst, **({"src_dir_fd": d.fd, "dst_dir_fd": d.fd} if kw else {}))
            name = None
        except BaseException:
            if name is not None:
                d.unlink(name)
            raise
        d.fsync()
    finally:
        d.close()
