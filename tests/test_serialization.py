"""save/load round trips (torch's format), devices, map_location, corruption, the old npz format,
no code execution, atomic writes."""
import io
import os
import pickle
import zipfile
from collections import Counter, OrderedDict

import numpy as np
import pytest

import gputensor as gt
from gputensor import serialization
from gputensor.serialization import _npz, _torch_write  # noqa: F401  (patched below)


def _np(t):
    return t.detach().cpu().numpy()


def test_round_trip_nested_structure(device, tmp_path):
    w = gt.tensor(np.arange(15, dtype=np.float32).reshape(3, 5), device=device, requires_grad=True)
    obj = {
        "model": OrderedDict([("fc.weight", w), ("fc.bias", gt.zeros(5, dtype=gt.float16,
                                                                     device=device))]),
        "epoch": 3, "loss": 0.25, "best": float("inf"), "name": "run", "done": False,
        "none": None, "ids": gt.tensor([1, 2, 3], device=device), "mask": gt.tensor([True, False]),
        "hist": [1, 2.5, (w, "again")], 7: {"nested": (1, [2, 3])}, "counts": Counter([2, 2, 5]),
        "array": np.arange(4, dtype=np.int32), "dtype": gt.float64, "where": gt.device(device),
    }
    path = tmp_path / "ckpt.pth"
    gt.save(obj, path)
    with pytest.raises(serialization.LoadError, match="numpy"):
        gt.load(path)  # as in torch, NumPy arrays need weights_only=False (or safe globals)
    out = gt.load(path, weights_only=False)
    assert list(out) == list(obj)
    assert type(out["model"]) is OrderedDict and list(out["model"]) == ["fc.weight", "fc.bias"]
    lw = out["model"]["fc.weight"]
    assert lw.device.type == device and lw.dtype == gt.float32 and lw.requires_grad and lw.is_leaf
    np.testing.assert_array_equal(_np(lw), _np(w))
    assert out["model"]["fc.bias"].dtype == gt.float16
    assert out["ids"].dtype == gt.int64 and out["mask"].dtype == gt.bool
    assert out["hist"][2][0] is lw, "a tensor saved twice loads as one tensor"
    assert isinstance(out["hist"][2], tuple) and out["hist"][:2] == [1, 2.5]
    assert out[7] == {"nested": (1, [2, 3])} and out["counts"] == Counter([2, 2, 5])
    assert isinstance(out["counts"], Counter)
    assert (out["epoch"], out["loss"], out["best"], out["name"], out["done"], out["none"]) == \
        (3, 0.25, float("inf"), "run", False, None)
    assert out["array"].dtype == np.int32 and out["dtype"] is gt.float64
    assert out["where"] == gt.device(device)


def test_scalar_tensor_keeps_its_shape(tmp_path):
    gt.save(gt.tensor(2.5), tmp_path / "s")
    out = gt.load(tmp_path / "s")
    assert out.shape == () and out.item() == 2.5


def test_file_objects(device):
    buf = io.BytesIO()
    gt.save([gt.ones(2, 3, device=device)], buf)
    buf.seek(0)
    (t,) = gt.load(buf)
    assert t.device.type == device and _np(t).sum() == 6


@pytest.mark.parametrize("map_location", ["cpu", gt.device("cpu"), {"cuda:0": "cpu"},
                                          lambda t, loc: t])
def test_cuda_checkpoint_loads_on_cpu_with_map_location(map_location, tmp_path):
    gt.save({"w": gt.ones(3, device="cuda")}, tmp_path / "c")
    w = gt.load(tmp_path / "c", map_location=map_location)["w"]
    assert w.device.type == "cpu" and _np(w).tolist() == [1.0, 1.0, 1.0]


def test_map_location_to_cuda_and_callable_fallback(tmp_path):
    gt.save(gt.ones(2), tmp_path / "c")
    assert gt.load(tmp_path / "c", map_location="cuda").device.type == "cuda"
    assert gt.load(tmp_path / "c", map_location=lambda t, loc: None).device.type == "cpu"
    with pytest.raises(TypeError, match="map_location"):
        gt.load(tmp_path / "c", map_location=3.5)


def test_missing_cuda_is_named(tmp_path, monkeypatch):
    gt.save(gt.ones(2, device="cuda"), tmp_path / "c")
    monkeypatch.setattr(serialization._npz, "cuda_available", lambda: False)
    with pytest.raises(RuntimeError, match="saved on cuda:0.*map_location='cpu'"):
        gt.load(tmp_path / "c")


def test_unpicklable_objects_fail_like_torch_and_leave_nothing(tmp_path):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as want:
        torch.save({"f": lambda: 0}, str(tmp_path / "t"))
    with pytest.raises(type(want.value)) as got:
        gt.save({"f": lambda: 0}, tmp_path / "x")
    assert str(got.value) == str(want.value)
    assert not os.path.exists(tmp_path / "x")


def test_truncated_file_raises_naming_the_file(tmp_path):
    path = tmp_path / "model.pth"
    gt.save({"w": gt.randn(50, 7)}, path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(RuntimeError, match="model.pth.*truncated or corrupted"):
        gt.load(path)
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(RuntimeError, match="model.pth"):
        gt.load(path)
    with pytest.raises(FileNotFoundError):
        gt.load(tmp_path / "missing.pth")


class _Boom:
    def __reduce__(self):
        return (os.system, ("touch " + str(_Boom.marker),))


def test_pickle_payloads_never_execute(tmp_path):
    _Boom.marker = tmp_path / "pwned"
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"w": _Boom()}))
    with pytest.raises(RuntimeError, match="plain.pkl"):
        gt.load(plain)
    crafted = tmp_path / "crafted.pth"  # an old-format archive with a pickled member
    buf = io.BytesIO()
    np.save(buf, np.array([_Boom()], dtype=object), allow_pickle=True)
    good = io.BytesIO()
    serialization._npz.save({"w": gt.ones(2)}, good)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(crafted, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, buf.getvalue() if name == "a0.npy" else src.read(name))
    with pytest.raises(RuntimeError, match="crafted.pth"):
        gt.load(crafted)
    assert not _Boom.marker.exists()


def test_old_npz_checkpoints_still_load(device, tmp_path):
    obj = {"w": gt.arange(6.0, device=device).reshape(2, 3), "epoch": 4, "hist": [0.5, (1, "a")]}
    serialization._npz.save(obj, tmp_path / "old.pth")
    out = gt.load(tmp_path / "old.pth")
    assert out["epoch"] == 4 and out["hist"] == [0.5, (1, "a")]
    assert out["w"].device.type == device and _np(out["w"]).tolist() == [[0, 1, 2], [3, 4, 5]]


def test_manifest_with_unknown_tag_is_rejected(tmp_path):
    import json
    bad = json.dumps({"format": "gputensor-checkpoint", "version": 1,
                      "root": {"t": "callable", "v": "os.system"}}).encode()
    np.savez(tmp_path / "bad.npz", __manifest__=np.frombuffer(bad, np.uint8))
    with pytest.raises(RuntimeError, match="unknown manifest tag"):
        gt.load(tmp_path / "bad.npz")


def test_crash_during_save_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pth"
    gt.save({"epoch": 1, "w": gt.ones(3)}, path)

    def crash(obj, fileobj, *args):
        fileobj.write(b"PK\x03\x04partial")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(serialization._torch_write, "_write_zip", crash)
    with pytest.raises(KeyboardInterrupt):
        gt.save({"epoch": 2, "w": gt.zeros(3)}, path)
    monkeypatch.undo()
    out = gt.load(path)
    assert out["epoch"] == 1 and _np(out["w"]).tolist() == [1.0, 1.0, 1.0]
    assert os.listdir(tmp_path) == ["ckpt.pth"], "no temp file is left behind"
