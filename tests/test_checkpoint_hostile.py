"""Hostile checkpoints: gputensor.load never runs their code, never over-allocates, and always
raises LoadError naming the file."""
import io
import os
import pickle
import struct
import time
import zipfile

import numpy as np
import pytest
import torch

import gputensor as gt
from gputensor.serialization import LoadError


def _torch_zip(tmp_path, obj, name="ok.pt"):
    torch.save(obj, tmp_path / name)
    with zipfile.ZipFile(tmp_path / name) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def _write_zip(path, members, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compress) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return path


def _with_pickle(tmp_path, data_pkl, name="evil.pt"):
    members = _torch_zip(tmp_path, {"w": torch.arange(4.0)})
    members["ok/data.pkl"] = data_pkl
    return _write_zip(tmp_path / name, members)


class _Payload:
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _payloads(marker):
    import builtins
    import subprocess
    cmd = f"touch {marker}"
    code = f"open({str(marker)!r}, 'w').close()"
    return {"os.system": _Payload(os.system, cmd), "eval": _Payload(builtins.eval, code),
            "exec": _Payload(builtins.exec, code),
            "__import__": _Payload(builtins.__import__, "antigravity"),
            "subprocess": _Payload(subprocess.call, ["touch", str(marker)]),
            "getattr": _Payload(getattr, [], "append")}


@pytest.mark.parametrize("kind", ["os.system", "eval", "exec", "__import__", "subprocess",
                                  "getattr"])
@pytest.mark.parametrize("container", ["zip", "legacy", "plain"])
def test_code_never_runs(tmp_path, kind, container):
    marker = tmp_path / "pwned"
    payload = _payloads(marker)[kind]
    if container == "zip":
        path = _with_pickle(tmp_path, pickle.dumps({"w": payload}, protocol=2))
    else:
        path = tmp_path / "evil.pt"
        body = pickle.dumps({"w": payload}, protocol=2)
        if container == "legacy":
            body = b"".join(pickle.dumps(x, protocol=2) for x in
                            (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True})) + body
        path.write_bytes(body)
    with pytest.raises(LoadError, match=r"(?s)(Weights only load failed for .*evil\.pt|"
                                        r"evil\.pt.*magic)"):
        gt.load(path)
    assert not marker.exists()


def test_weights_only_message_matches_torch(tmp_path):
    path = _with_pickle(tmp_path, pickle.dumps({"w": _Payload(os.system, "true")}, protocol=2))
    with pytest.raises(LoadError) as ei:
        gt.load(path)
    assert "Trying to load unsupported GLOBAL posix.system whose module posix is blocked" in \
        str(ei.value)
    import builtins
    path = _with_pickle(tmp_path, pickle.dumps(_Payload(builtins.eval, "1"), protocol=2))
    with pytest.raises(LoadError) as ei:
        gt.load(path)
    msg = str(ei.value)
    assert msg.startswith(f"Weights only load failed for {path}.")
    assert "GLOBAL eval was not an allowed global by default" in msg
    assert "gputensor.serialization.add_safe_globals([eval])" in msg
    assert "gputensor.serialization.safe_globals([eval])" in msg
    assert isinstance(ei.value, pickle.UnpicklingError) and isinstance(ei.value, RuntimeError)


def _pid_pickle(storage_cls="FloatStorage", numel=4, key="0", size=(4,), stride=(1,), offset=0):
    """A data.pkl holding one tensor with the given (possibly forged) fields."""
    def g(m, n):
        return b"c" + m.encode() + b"\n" + n.encode() + b"\n"
    p = pickle.dumps
    tup = (b"(" + p("storage", 2)[2:-1] + g("torch", storage_cls) + p(key, 2)[2:-1]
           + p("cpu", 2)[2:-1] + p(numel, 2)[2:-1] + b"tQ")
    args = (b"(" + tup + p(offset, 2)[2:-1] + p(tuple(size), 2)[2:-1] + p(tuple(stride), 2)[2:-1]
            + b"\x89" + g("collections", "OrderedDict") + b")R" + b"tR")
    return b"\x80\x02" + g("torch._utils", "_rebuild_tensor_v2") + args + b"."


def test_forged_pickle_helper_loads_when_honest(tmp_path):
    out = gt.load(_with_pickle(tmp_path, _pid_pickle()))
    assert out.tolist() == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("fields, cause", [
    ({"storage_cls": "EvilStorage"}, "GLOBAL torch.EvilStorage was not an allowed global"),
    ({"storage_cls": "BFloat16Storage"}, "bfloat16"),
    ({"numel": 1 << 40}, "claims 1099511627776 float32 elements"),
    ({"numel": 8}, "claims 8 float32 elements"),
    ({"numel": -4}, "non-negative"),
    ({"offset": 3, "size": (2,)}, "out of bounds"),
    ({"offset": 10, "size": (1,)}, "out of bounds"),
    ({"size": (2, 3), "stride": (3, 1)}, "out of bounds"),
    ({"size": (-4,)}, "non-negative"),
    ({"stride": (-1,)}, "non-negative"),
    ({"size": (4, 1), "stride": (1,)}, "different lengths"),
    ({"key": "../0"}, "plain record name"),
    ({"key": "9"}, "missing"),
])
def test_forged_storage_fields(tmp_path, fields, cause):
    path = _with_pickle(tmp_path, _pid_pickle(**fields))
    t0 = time.perf_counter()
    with pytest.raises(LoadError, match=r"(?s)evil\.pt.*" + cause.replace("(", r"\(")
                       .replace(")", r"\)").replace("[", r"\[")):
        gt.load(path)
    assert time.perf_counter() - t0 < 0.5


def test_path_traversal_member_names(tmp_path):
    members = _torch_zip(tmp_path, {"w": torch.ones(2)})
    members["../escape"] = b"x"
    with pytest.raises(LoadError, match=r"evil\.pt.*outside the archive"):
        gt.load(_write_zip(tmp_path / "evil.pt", members))


def test_deep_nesting(tmp_path):
    # the pickle machine is iterative: deep lists load (as in torch), without a RecursionError
    deep = b"\x80\x02" + b"]" * 200_000 + b"a" * 199_999 + b"."
    out, depth = gt.load(_with_pickle(tmp_path, deep)), 0
    while out:
        out, depth = out[0], depth + 1
    assert depth == 199_999
    # an unbalanced one is a LoadError, not an IndexError
    with pytest.raises(LoadError, match=r"evil\.pt.*truncated or corrupted"):
        gt.load(_with_pickle(tmp_path, b"\x80\x02" + b"]" * 10 + b"a" * 20 + b"."))
    manifest = b'{"format": "gputensor-checkpoint", "version": 1, "root": ' + \
        b'{"t": "list", "items": [' * 50_000 + b"]}" * 50_000 + b"}"
    np.savez(tmp_path / "evil.npz", __manifest__=np.frombuffer(manifest, np.uint8))
    with pytest.raises(LoadError, match=r"evil\.npz.*(deep|Recursion)"):
        gt.load(tmp_path / "evil.npz")


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes(tmp_path, seed):
    rng = np.random.default_rng(seed)
    path = tmp_path / "evil.pt"
    for head in (b"", b"PK\x03\x04", b"\x80\x02", b"\x08\x00\x00\x00\x00\x00\x00\x00{"):
        path.write_bytes(head + rng.bytes(int(rng.integers(1, 5000))))
        with pytest.raises(LoadError, match=r"evil\.pt"):
            gt.load(path)


@pytest.mark.parametrize("fmt", ["zip", "legacy", "npz"])
def test_truncated_files(tmp_path, fmt):
    src = tmp_path / "src.pt"
    obj = {"w": torch.randn(30, 7), "b": torch.arange(5), "e": 3}
    if fmt == "npz":
        gt.save({"w": gt.randn(30, 7), "e": 3}, src)
    else:
        torch.save(obj, src, _use_new_zipfile_serialization=fmt == "zip")
    raw = src.read_bytes()
    path = tmp_path / "evil.pt"
    for cut in (1, 4, 9, 30, 100, len(raw) // 3, len(raw) // 2, len(raw) - 100, len(raw) - 1):
        path.write_bytes(raw[:cut])
        with pytest.raises(LoadError, match=r"evil\.pt"):
            gt.load(path)
    path.write_bytes(b"")
    with pytest.raises(LoadError, match=r"evil\.pt"):
        gt.load(path)


def test_zip_bomb_fails_fast(tmp_path):
    zeros = b"\x00" * (64 << 20)
    members = _torch_zip(tmp_path, {"w": torch.arange(4.0)})
    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for k, v in members.items():
            z.writestr(k, v)
        z.writestr("ok/data/1", zeros)
    # patch the central directory so member data/1 declares 2 GiB
    raw = bytearray(path.read_bytes())
    cd = raw.rfind(b"PK\x01\x02", 0, len(raw))
    assert raw[cd + 46:cd + 46 + 9] == b"ok/data/1"
    struct.pack_into("<I", raw, cd + 24, (2 << 30) - 1)
    path.write_bytes(bytes(raw))
    assert len(raw) < (2 << 20)
    t0 = time.perf_counter()
    with pytest.raises(LoadError, match=r"evil\.pt.*(zip bomb|ratio)"):
        gt.load(path)
    assert time.perf_counter() - t0 < 0.5
    # a stored member declaring more than the file holds
    raw = bytearray(_write_zip(tmp_path / "evil2.pt", members).read_bytes())
    cd = raw.find(b"PK\x01\x02")
    struct.pack_into("<II", raw, cd + 20, 1 << 31, 1 << 31)
    (tmp_path / "evil2.pt").write_bytes(bytes(raw))
    t0 = time.perf_counter()
    with pytest.raises(LoadError, match=r"evil2\.pt.*past the end"):
        gt.load(tmp_path / "evil2.pt")
    assert time.perf_counter() - t0 < 0.5


def test_npz_member_declaring_huge_shape(tmp_path):
    from gputensor.serialization import _npz
    _npz.save({"w": gt.ones(4)}, tmp_path / "src.pth")  # gputensor's earlier format
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False,
                                               "shape": (1 << 20, 1 << 20)})
    with zipfile.ZipFile(tmp_path / "src.pth") as src, \
            zipfile.ZipFile(tmp_path / "evil.pth", "w") as dst:
        for name in src.namelist():
            dst.writestr(name, buf.getvalue() + b"\x00" * 16 if name == "a0.npy"
                         else src.read(name))
    t0 = time.perf_counter()
    with pytest.raises(LoadError, match=r"evil\.pth.*declares shape \(1048576, 1048576\)"):
        gt.load(tmp_path / "evil.pth")
    assert time.perf_counter() - t0 < 0.5


def test_os_errors_stay_os_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        gt.load(tmp_path / "missing.pt")
    with pytest.raises(IsADirectoryError):
        gt.load(tmp_path)
