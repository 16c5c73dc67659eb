"""``.safetensors`` save/load against the real ``safetensors.torch`` and torch as oracles."""
import io
import json
import os
import re
import struct

import numpy as np
import pytest
import safetensors.torch as st_torch
import torch
from safetensors import safe_open

import gputensor as gt
import gputensor.nn as gnn
from gputensor.serialization._errors import LoadError
from gputensor.serialization._safetensors import (load_safetensors, load_safetensors_metadata,
                                                  looks_like_safetensors, save_safetensors)

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def _sample(name: str, shape, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if name == "bool":
        return rng.random(shape) > 0.5
    if name.startswith(("int", "uint")):
        info = np.iinfo(name)
        return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=name)
    return (rng.standard_normal(shape) * 100).astype(name)


def _tensors(device: str) -> dict:
    shapes = [(3, 5), (), (0, 3), (7,), (1, 3, 1), (2, 3), (5,), (3,), (2, 1, 3)]
    return {f"t_{n}": gt.tensor(_sample(n, s, i), device=device)
            for i, (n, s) in enumerate(zip(DTYPES, shapes))}


def _assert_same(got: dict, want: dict, device: str) -> None:
    assert list(got) == list(want) or sorted(got) == sorted(want)
    for k, t in want.items():
        g = got[k]
        assert g.device.type == device and g.dtype == t.dtype and tuple(g.shape) == tuple(t.shape)
        np.testing.assert_array_equal(g.cpu().numpy(), t.cpu().numpy())


def test_round_trip_every_dtype_path_fileobj_bytes(tmp_path, device):
    ts = _tensors(device)
    path = tmp_path / "m.safetensors"
    save_safetensors(ts, path)
    buf = io.BytesIO()
    save_safetensors(ts, buf)
    assert buf.getvalue() == path.read_bytes()
    for src in (path, str(path), io.BytesIO(buf.getvalue()), buf.getvalue(),
                memoryview(buf.getvalue())):
        _assert_same(load_safetensors(src, device=device), ts, device)
    assert os.listdir(tmp_path) == ["m.safetensors"]


def test_cross_device_load(tmp_path):
    ts = _tensors("cpu")
    save_safetensors(ts, tmp_path / "m.safetensors")
    _assert_same(load_safetensors(tmp_path / "m.safetensors", device="cuda"), ts, "cuda")
    loaded = load_safetensors(tmp_path / "m.safetensors")
    loaded["t_float32"][0] = 1.5  # loaded tensors own writable storage
    assert loaded["t_float32"][0].item() == 1.5


def test_files_from_safetensors_torch_load_equal(tmp_path):
    ref = {f"w_{n}": torch.from_numpy(np.ascontiguousarray(_sample(n, (2, 3), i)))
           for i, n in enumerate(DTYPES)}
    ref["scalar"] = torch.tensor(2.5, dtype=torch.float64)
    ref["empty"] = torch.zeros(0, 4)
    path = tmp_path / "torch.safetensors"
    st_torch.save_file(ref, path, metadata={"format": "pt"})
    header = json.loads(path.read_bytes()[8:8 + struct.unpack("<Q", path.read_bytes()[:8])[0]])
    file_order = sorted(ref, key=lambda k: (*header[k]["data_offsets"], k))
    assert sorted(st_torch.load_file(path)) == sorted(file_order)
    for src in (path, path.read_bytes()):
        got = load_safetensors(src)
        assert list(got) == file_order  # file order, as safetensors.torch (ties by name)
        for k, v in ref.items():
            assert str(got[k].dtype) == str(v.dtype).replace("torch", "gputensor")
            np.testing.assert_array_equal(got[k].numpy(), v.numpy())
    assert load_safetensors_metadata(path) == {"format": "pt"}


def test_our_files_load_in_safetensors_torch(tmp_path, device):
    ts = _tensors(device)
    save_safetensors(ts, tmp_path / "ours.safetensors", metadata={"framework": "gputensor"})
    for got in (st_torch.load_file(tmp_path / "ours.safetensors"),
                st_torch.load((tmp_path / "ours.safetensors").read_bytes())):
        assert sorted(got) == sorted(ts)
        for k, t in ts.items():
            assert str(got[k].dtype) == str(t.dtype).replace("gputensor", "torch")
            assert tuple(got[k].shape) == tuple(t.shape)
            np.testing.assert_array_equal(got[k].numpy(), t.cpu().numpy())


def _cnn(nn):
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def test_reference_cnn_state_dict_round_trip(tmp_path):
    torch.manual_seed(0)
    ref = _cnn(torch.nn)
    ref.train()
    ref(torch.randn(4, 3, 8, 8))  # give BatchNorm non-trivial running stats
    ref.eval()
    st_torch.save_file(ref.state_dict(), tmp_path / "ref.safetensors")

    model = _cnn(gnn)
    model.load_state_dict(load_safetensors(tmp_path / "ref.safetensors"))
    model.eval()
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    want = ref(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(gt.tensor(x)).detach().numpy(), want, rtol=1e-4, atol=1e-5)

    save_safetensors(model.state_dict(), tmp_path / "ours.safetensors")
    back = _cnn(torch.nn)
    back.load_state_dict(st_torch.load_file(tmp_path / "ours.safetensors"))
    back.eval()
    np.testing.assert_allclose(back(torch.from_numpy(x)).detach().numpy(), want, rtol=1e-6)
    assert back.state_dict()["1.num_batches_tracked"].item() == 1


def test_metadata_round_trip(tmp_path):
    meta = {"format": "pt", "note": "ünïcode ✓", "empty": ""}
    save_safetensors({"a": gt.ones(2)}, tmp_path / "m.safetensors", metadata=meta)
    data = (tmp_path / "m.safetensors").read_bytes()
    for src in (tmp_path / "m.safetensors", data, io.BytesIO(data)):
        assert load_safetensors_metadata(src) == meta
    with safe_open(tmp_path / "m.safetensors", framework="pt") as f:  # the oracle agrees
        assert f.metadata() == meta
    save_safetensors({"a": gt.ones(2)}, tmp_path / "none.safetensors")
    assert load_safetensors_metadata(tmp_path / "none.safetensors") is None
    assert load_safetensors_metadata((tmp_path / "none.safetensors").read_bytes()) is None
    with pytest.raises(TypeError):
        save_safetensors({"a": gt.ones(2)}, tmp_path / "bad.safetensors", metadata={"k": 1})
    assert not (tmp_path / "bad.safetensors").exists()


def _torch_error(tensors, tmp_path):
    with pytest.raises(Exception) as e:
        st_torch.save_file(tensors, tmp_path / "torch.safetensors")
    return e.value


def _normalize(msg: str) -> str:  # set printing order may differ
    return re.sub(r"\{[^}]*\}", lambda m: str(sorted(re.findall(r"'(\w+)'", m.group()))), msg)


def test_shared_tensors_refused_like_safetensors_torch(tmp_path):
    g = gt.arange(12.0).reshape(3, 4)
    t = torch.arange(12.0).reshape(3, 4)
    cases = [({"a": g, "b": g[1]}, {"a": t, "b": t[1]}),        # a view inside a saved tensor
             ({"w": g, "tied": g}, {"w": t, "tied": t}),         # tied weights
             ({"x": g[0:2], "y": g[1:3]}, {"x": t[0:2], "y": t[1:3]})]  # overlapping slices
    for ours, theirs in cases:
        want = _torch_error(theirs, tmp_path)
        with pytest.raises(RuntimeError) as got:
            save_safetensors(ours, tmp_path / "ours.safetensors")
        assert type(got.value) is type(want)
        assert _normalize(str(got.value)) == _normalize(str(want))
    # disjoint slices of one storage are fine (as in safetensors.torch)
    save_safetensors({"r0": g[0], "r2": g[2]}, tmp_path / "ok.safetensors")
    st_torch.save_file({"r0": t[0], "r2": t[2]}, tmp_path / "ok_t.safetensors")
    got = st_torch.load_file(tmp_path / "ok.safetensors")
    assert got["r2"].tolist() == [8.0, 9.0, 10.0, 11.0]
    assert not (tmp_path / "ours.safetensors").exists()


def test_invalid_inputs_raise_like_safetensors_torch(tmp_path):
    g = gt.arange(6.0).reshape(2, 3)
    t = torch.arange(6.0).reshape(2, 3)
    for ours, theirs in [({"a": g, "n": 3}, {"a": t, "n": 3}),
                         ([g], [t]),
                         ({"tr": g.t()}, {"tr": t.t()})]:
        want = _torch_error(theirs, tmp_path)
        with pytest.raises(type(want)) as got:
            save_safetensors(ours, tmp_path / "ours.safetensors")
        assert str(got.value) == str(want)
    with pytest.raises(TypeError, match="Key `n` is invalid"):
        save_safetensors({"n": np.ones(2)}, tmp_path / "ours.safetensors")
    assert not (tmp_path / "ours.safetensors").exists()


def _file(header, body=b"", hlen=None) -> bytes:
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + body


F32 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
HOSTILE = {
    "past_end": _file({"a": {**F32, "shape": [4], "data_offsets": [0, 16]}}, bytes(8)),
    "overlap": _file({"a": F32, "b": {**F32, "data_offsets": [4, 12]}}, bytes(12)),
    "gap": _file({"a": {**F32, "data_offsets": [4, 12]}}, bytes(12)),
    "huge_shape": _file({"a": {**F32, "shape": [2 ** 62, 2 ** 62]}}, bytes(8)),
    "shape_mismatch": _file({"a": {**F32, "shape": [3]}}, bytes(8)),
    "negative_dim": _file({"a": {**F32, "shape": [-2]}}, bytes(8)),
    "huge_header_len": _file({"a": F32}, bytes(8), hlen=2 ** 63),
    "header_past_end": _file({"a": F32}, bytes(8), hlen=500),
    "not_json": _file(b"{this is not json", bytes(8)),
    "not_object": _file(b"[1, 2]  ", b""),
    "unknown_dtype": _file({"a": {**F32, "dtype": "Q7"}}, bytes(8)),
    "trailing_bytes": _file({"a": F32}, bytes(16)),
    "truncated": _file({"a": F32}, bytes(8))[:-3],
    "tiny": b"\x05\x00",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_headers_raise_load_error_naming_the_file(tmp_path, case):
    path = tmp_path / f"{case}.safetensors"
    path.write_bytes(HOSTILE[case])
    for src, shown in ((path, str(path)), (HOSTILE[case], "<bytes>"),
                       (io.BytesIO(HOSTILE[case]), "<file object>")):
        with pytest.raises(LoadError) as e:
            load_safetensors(src)
        assert shown in str(e.value) and isinstance(e.value, RuntimeError)
    with pytest.raises(LoadError, match=re.escape(str(path))):
        load_safetensors_metadata(path)
    with pytest.raises(Exception):  # the oracle refuses them too
        st_torch.load_file(path)


@pytest.mark.parametrize("dtype,code", [(torch.bfloat16, "BF16"), (torch.float8_e4m3fn, "F8_E4M3"),
                                        (torch.float8_e5m2, "F8_E5M2"),
                                        (torch.complex64, "C64"), (torch.uint16, "U16"),
                                        (torch.uint32, "U32"), (torch.uint64, "U64")])
def test_unsupported_dtypes_named(tmp_path, dtype, code):
    path = tmp_path / "x.safetensors"
    st_torch.save_file({"ok": torch.ones(2), "weird.weight": torch.zeros(3, dtype=dtype)}, path)
    want = f"tensor 'weird.weight' has dtype {code} ({dtype})"
    for src in (path, path.read_bytes()):
        with pytest.raises(LoadError, match=re.escape(want)):
            load_safetensors(src)


def test_looks_like_safetensors(tmp_path):
    save_safetensors({"a": gt.ones(3)}, tmp_path / "a.safetensors")
    data = (tmp_path / "a.safetensors").read_bytes()
    assert looks_like_safetensors(data[:64]) and looks_like_safetensors(data, len(data))
    assert not looks_like_safetensors(data[:64], size=20)  # header longer than the file
    torch.save({"a": torch.ones(3)}, tmp_path / "zip.pt")
    torch.save({"a": torch.ones(3)}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    gt.save({"a": gt.ones(3)}, tmp_path / "gt.pt")
    for name in ("zip.pt", "legacy.pt", "gt.pt"):
        assert not looks_like_safetensors((tmp_path / name).read_bytes()[:64]), name
    for head in (b"", b"\x05\x00\x00\x00\x00\x00\x00\x00", bytes(16),
                 _file({"a": F32}, hlen=2 ** 40)[:64]):
        assert not looks_like_safetensors(head)


def test_failed_save_keeps_the_old_file(tmp_path):
    path = tmp_path / "m.safetensors"
    save_safetensors({"a": gt.ones(2)}, path)
    before = path.read_bytes()
    g = gt.ones(4)
    with pytest.raises(RuntimeError, match="share memory"):
        save_safetensors({"a": g, "b": g[:2]}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.safetensors"]
