"""A zip archive opened for reading untrusted checkpoints: every size is checked before use.

``zipfile`` believes what the central directory says. A hostile checkpoint can declare members
far larger than the file (a zip bomb), members that overlap one another, names like ``../x``, or
encrypted entries. ``Archive`` validates all of that once, up front, so later reads allocate only
what the archive can really hold: stored members (the only kind torch writes) must fit inside the
file, compressed ones may expand by at most ``MAX_RATIO``, and no two members share bytes.
"""
from __future__ import annotations

import io
import os
import struct
import zipfile

import numpy as np

from ._errors import LoadError

MAX_RATIO = 100  # compressed members may expand this much (torch never compresses members)
_SMALL = 1 << 20  # members below this size skip the ratio test (tiny zero tensors deflate well)
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... name length, extra length
_CHUNK = 1 << 24


def damaged(name: str, cause: str) -> LoadError:
    """The error for an archive that is damaged or forged."""
    return LoadError(f"gputensor.load: {name} is truncated or corrupted: {cause}")


def _bad_name(member: str) -> bool:
    parts = member.replace("\\", "/").split("/")
    return member.startswith(("/", "\\")) or ":" in parts[0] or any(p in ("..",) for p in parts) \
        or "\x00" in member


class Archive:
    """Validated view of a zip file: ``names``, ``size(name)``, ``read(name)``, ``read_array``."""

    def __init__(self, fileobj, name: str):
        self.name, self._f = name, fileobj
        try:
            start = fileobj.tell()
            fileobj.seek(0, io.SEEK_END)
            self.file_size = fileobj.tell() - start
            fileobj.seek(start)
            self._zip = zipfile.ZipFile(fileobj)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, struct.error,
                OSError, NotImplementedError) as e:
            if isinstance(e, (FileNotFoundError, IsADirectoryError, PermissionError)):
                raise
            raise damaged(name, f"not a readable zip archive ({type(e).__name__}: {e})") from e
        self._infos: dict[str, zipfile.ZipInfo] = {}
        self._data_at: dict[str, int] = {}
        spans = []
        for info in infos:
            self._check(info)
            spans.append((self._data_at[info.filename], info.compress_size, info.filename))
        spans.sort()
        for (a, n, first), (b, _, second) in zip(spans, spans[1:]):
            if a + n > b:
                raise damaged(name, f"zip members {first!r} and {second!r} overlap "
                                    "(a zip bomb or a forged archive)")

    def _check(self, info: zipfile.ZipInfo) -> None:
        member = info.filename
        if _bad_name(member):
            raise damaged(self.name, f"zip member name {member!r} points outside the archive")
        if member in self._infos:
            raise damaged(self.name, f"zip member {member!r} appears twice")
        if info.flag_bits & 0x1:
            raise damaged(self.name, f"zip member {member!r} is encrypted")
        if info.file_size < 0 or info.compress_size < 0 or info.header_offset < 0:
            raise damaged(self.name, f"zip member {member!r} declares a negative size")
        if info.compress_type == zipfile.ZIP_STORED:
            if info.file_size != info.compress_size:
                raise damaged(self.name, f"stored zip member {member!r} declares {info.file_size} "
                                         f"bytes but holds {info.compress_size}")
        elif info.compress_type in (zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
            if info.file_size > max(_SMALL, MAX_RATIO * info.compress_size):
                raise damaged(self.name, f"zip member {member!r} declares {info.file_size} bytes "
                                         f"from {info.compress_size} compressed bytes (ratio "
                                         f"beyond {MAX_RATIO}:1; a zip bomb?)")
        else:
            raise damaged(self.name, f"zip member {member!r} uses unsupported compression "
                                     f"{info.compress_type}")
        try:
            self._f.seek(info.header_offset)
            sig, n, m = _LOCAL_HEADER.unpack(self._f.read(_LOCAL_HEADER.size))
        except (struct.error, OSError, ValueError, OverflowError) as e:
            raise damaged(self.name, f"zip member {member!r} has no local header") from e
        if sig != b"PK\x03\x04":
            raise damaged(self.name, f"zip member {member!r} has a bad local header")
        at = info.header_offset + _LOCAL_HEADER.size + n + m
        if at + info.compress_size > self.file_size:
            raise damaged(self.name, f"zip member {member!r} declares {info.compress_size} bytes "
                                     f"at offset {at}, past the end of the {self.file_size}-byte "
                                     "file")
        self._infos[member] = info
        self._data_at[member] = at

    @property
    def names(self) -> list[str]:
        return list(self._infos)

    def size(self, member: str) -> int:
        return self._infos[member].file_size

    def data_offset(self, member: str) -> int | None:
        """Where a stored member's bytes start in the file (None when compressed)."""
        info = self._infos[member]
        return self._data_at[member] if info.compress_type == zipfile.ZIP_STORED else None

    def read(self, member: str) -> bytes:
        """All of a member's bytes (its declared size was checked against the file)."""
        return self.read_array(member, self.size(member)).tobytes()

    def read_array(self, member: str, nbytes: int, skip: int = 0) -> np.ndarray:
        """A new writable uint8 array of member ``member``'s bytes after the first ``skip``;
        the member must be exactly ``skip + nbytes`` long.

        The size is compared before anything is allocated; decompression stops at the declared
        size and a member shorter than declared is an error."""
        info = self._infos.get(member)
        if info is None:
            raise damaged(self.name, f"zip member {member!r} is missing")
        if info.file_size != skip + nbytes:
            raise damaged(self.name, f"zip member {member!r} holds {info.file_size - skip} bytes "
                                     f"of data but the checkpoint needs {nbytes}")
        out = np.empty(nbytes, dtype=np.uint8)
        view = out.data
        try:
            if info.compress_type == zipfile.ZIP_STORED:
                self._f.seek(self._data_at[member] + skip)
                got = _fill(getattr(self._f, "readinto"), view)
            else:
                with self._zip.open(info) as src:
                    src.read(skip)
                    got = _fill(getattr(src, "readinto"), view)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
            raise damaged(self.name, f"zip member {member!r}: {type(e).__name__}: {e}") from e
        if got != nbytes:
            raise damaged(self.name, f"zip member {member!r} ends after {got} of {nbytes} bytes")
        return out

    def open(self, member: str):
        """A stream over a member (reads stop at its declared, already checked, size)."""
        return self._zip.open(self._infos[member])

    def close(self) -> None:
        self._zip.close()


def _fill(readinto, view: memoryview) -> int:
    got = 0
    while got < len(view):
        n = readinto(view[got:got + _CHUNK])
        if not n:
            break
        got += n
    return got


def file_name(f) -> str:
    """How messages name ``f``: its path, or a file object's ``name``, or its repr."""
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    name = getattr(f, "name", None)
    return name if isinstance(name, str) else repr(f)
