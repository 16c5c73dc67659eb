"""The zip container torch 2.x checkpoints live in, written the way ``PyTorchStreamWriter`` does.

torch writes through miniz: every member is stored (no compression), has a zeroed time/date and
CRC/sizes in its local header (flag bit 3: a data descriptor after the data carries them; empty
members have neither the flag nor the descriptor), and a
local-header extra field ``FB<len>ZZZ...`` pads the data start to a multiple of 64 bytes, which is
what lets ``torch.load(mmap=True)`` map storages in place. A zip64 end-of-central-directory record
is always written; members or offsets past 4 GiB get miniz's zip64 extra fields. Every member is
named ``<archive>/<record>``.
"""
from __future__ import annotations

import struct
import zlib
from typing import IO

ALIGNMENT = 64
_U32 = 0xFFFFFFFF
_U64 = (1 << 64) - 1
_FLAGS = 0x0808  # bit 3: sizes in a data descriptor; bit 11: UTF-8 names


def _hash_combine(seed: int, value: int) -> int:
    """c10::hash_combine on 64-bit size_t."""
    return (seed ^ ((value + 0x9E3779B9 + (seed << 6) + (seed >> 2)) & _U64)) & _U64


def _zip64_extra(size: int | None, offset: int | None) -> bytes:
    """miniz's zip64 extended-information field: sizes when given, then the header offset."""
    body = b""
    if size is not None:
        body += struct.pack("<QQ", size, size)  # uncompressed, compressed (stored: equal)
    if offset is not None:
        body += struct.pack("<Q", offset)
    return struct.pack("<HH", 1, len(body)) + body if body else b""


def archive_name_for(path: str) -> str:
    """The member prefix torch derives from a path: its basename without the last extension.

    torch only does this for ASCII paths (others are written through a Python file object and
    get ``archive``, as buffers do)."""
    try:
        path.encode("ascii")
    except UnicodeEncodeError:
        return "archive"
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    name = base[:base.rfind(".")] if "." in base else base
    if not name:
        raise RuntimeError(f"invalid file name: {path}")
    return name


class TorchZipWriter:
    """Writes records to ``fileobj``; ``finish`` adds version, serialization id and directory."""

    def __init__(self, fileobj: IO[bytes], archive_name: str = "archive"):
        if not callable(getattr(fileobj, "write", None)):
            raise AttributeError(f"Buffer of {str(type(fileobj)).strip('<>')} has no callable "
                                 "attribute 'write'")
        self._f = fileobj
        self._prefix = archive_name + "/"
        self._pos = 0  # offsets count from where writing began, as miniz's do
        self._central: list[bytes] = []
        self._names: list[str] = []
        self._crc_combined = 0

    def _write(self, data) -> None:
        self._f.write(data)
        self._pos += memoryview(data).nbytes

    def write_record(self, name: str, data) -> None:
        """Store ``data`` (bytes-like) as ``<archive>/<name>`` with its start 64-byte aligned."""
        if name in self._names:
            raise RuntimeError(f"Tried to serialize file twice: {name}")
        data = memoryview(data).cast("B")
        size = data.nbytes
        full = (self._prefix + name).encode("utf-8")
        offset = self._pos
        big = size >= _U32 or offset >= _U32
        zip64 = _zip64_extra(size if size >= _U32 else None,
                             offset if offset >= _U32 else None) if big else b""
        start = offset + 30 + len(full) + len(zip64) + 4
        pad = -start % ALIGNMENT
        extra = zip64 + b"FB" + struct.pack("<H", pad) + b"Z" * pad
        flags = _FLAGS if size else _FLAGS & ~0x8  # miniz: no descriptor for empty records
        self._write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 0, flags, 0, 0, 0, 0, 0, 0,
                                len(full), len(extra)))
        self._write(full)
        self._write(extra)
        crc = zlib.crc32(data) & _U32
        if size:  # torch combines the CRCs its writer sees in data descriptors
            self._write(data)
            if zip64:
                self._write(struct.pack("<IIQQ", 0x08074B50, crc, size, size))
            else:
                self._write(struct.pack("<IIII", 0x08074B50, crc, size, size))
            self._crc_combined = _hash_combine(self._crc_combined, crc)
        self._central.append(struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 0, 0, flags, 0, 0, 0, crc, min(size, _U32),
            min(size, _U32), len(full), len(zip64), 0, 0, 0, 0, min(offset, _U32)) + full + zip64)
        self._names.append(name)

    def _serialization_id(self) -> str:
        """40 digits as torch writes them: a hash of the record names, then the c10-combined
        CRC32s of the records (this half equals torch's exactly; torch's name hash depends on
        libstdc++'s string hash and unordered_set order, so ours is crc32-based instead)."""
        names = 0
        for n in sorted(self._names):
            names = _hash_combine(names, zlib.crc32(n.encode("utf-8")))
        return f"{names:020d}{self._crc_combined:020d}"

    def finish(self) -> None:
        """Write ``version`` and ``.data/serialization_id``, then the central directory."""
        if "version" not in self._names and ".data/version" not in self._names:
            self.write_record("version", b"3\n")
        if "byteorder" not in self._names:
            self.write_record("byteorder", b"little")
        self.write_record(".data/serialization_id", self._serialization_id().encode("ascii"))
        cd_offset = self._pos
        for entry in self._central:
            self._write(entry)
        cd_size = self._pos - cd_offset
        n = len(self._central)
        eocd64 = self._pos
        self._write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 0x031E, 0x002D, 0, 0, n, n,
                                cd_size, cd_offset))
        self._write(struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1))
        self._write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(n, 0xFFFF), min(n, 0xFFFF),
                                min(cd_size, _U32), min(cd_offset, _U32), 0))
        flush = getattr(self._f, "flush", None)
        if callable(flush):
            flush()
