"""gputensor.load reads what torch.save writes: torch writes here, gputensor reads in a subprocess
where ``import torch`` is impossible, and values must match what torch saved exactly."""
import json
import os
import subprocess
import sys
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch

import gputensor as gt
from gputensor.serialization import LoadError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _CNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 32, 3, padding=1)
        self.pool = torch.nn.MaxPool2d(2)
        self.conv2 = torch.nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = torch.nn.Linear(2304, 128)
        self.fc2 = torch.nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


class _LSTM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(100, 256, 2, batch_first=True)
        self.fc = torch.nn.Linear(256, 10)

    def forward(self, x):
        return self.fc(self.lstm(x)[0][:, -1])


def _mixed():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    shared = torch.arange(10, dtype=torch.float64)
    out = {
        "epoch": 7, "lr": 0.125, "name": "run-1", "flags": [True, None],
        "nested": {"a": (1, [2.5])},
        "base": base, "t": base.t(), "view": base[1:3, 2:5], "strided": base[:, ::2],
        "first": shared[:4], "second": shared[3:], "scalar": torch.tensor(3.5),
        "empty": torch.empty(0, 3), "list": [torch.ones(2), torch.zeros(3, dtype=torch.int32)],
        "expanded": torch.tensor([1.0, 2.0]).expand(3, 2),
        "param": torch.nn.Parameter(torch.full((2, 2), 0.5)),
        "dtype": torch.float16, "device": torch.device("cpu"), "size": torch.Size([2, 3]),
    }
    for name in ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32",
                 "float64"):
        d = getattr(torch, name)
        out[f"dt_{name}"] = (torch.arange(-3, 4) % 2 == 0) if d is torch.bool else \
            torch.arange(-3, 4).to(d) * (1 if not d.is_floating_point else 1.5)
    return out


def _flat(obj, prefix=""):
    """Every tensor in a nested object, by path: name -> numpy array."""
    if isinstance(obj, (torch.Tensor, gt.Tensor)):
        return {prefix: obj.detach().cpu().numpy() if isinstance(obj, gt.Tensor)
                else obj.detach().numpy()}
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) \
        if isinstance(obj, (list, tuple)) else ()
    out = {}
    for k, v in items:
        out.update(_flat(v, f"{prefix}/{k}"))
    return out


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    """Checkpoints written by torch plus what torch expects (arrays and model outputs)."""
    d = tmp_path_factory.mktemp("torch_ckpts")
    torch.manual_seed(0)
    cnn, lstm = _CNN().eval(), _LSTM().eval()
    bn = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.BatchNorm1d(4))
    bn.train()
    bn(torch.randn(8, 5))
    bn(torch.randn(8, 5))
    bn.eval()
    x_cnn, x_lstm, x_bn = torch.randn(2, 3, 24, 24), torch.randn(2, 5, 100), torch.randn(3, 5)
    params = [torch.nn.Parameter(torch.randn(3, 2)), torch.nn.Parameter(torch.randn(2))]
    opt = torch.optim.Adam(params, lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        ((params[0].sum(0) * params[1]) ** 2).sum().backward()
        opt.step()
    objs = {"cnn": cnn.state_dict(), "lstm": lstm.state_dict(), "bn": bn.state_dict(),
            "adam": opt.state_dict(), "mixed": _mixed()}
    for key, obj in objs.items():
        torch.save(obj, d / f"{key}.pt")
        np.savez(d / f"{key}.expect.npz", **{k.replace("/", "|"): v
                                             for k, v in _flat(obj).items()})
    torch.save(objs["mixed"], d / "legacy.pt", _use_new_zipfile_serialization=False)
    torch.save(objs["bn"], d / "bn_legacy.pt", _use_new_zipfile_serialization=False)
    with torch.no_grad():
        np.save(d / "cnn.x.npy", x_cnn.numpy())
        np.save(d / "cnn.y.npy", cnn(x_cnn).numpy())
        np.save(d / "lstm.x.npy", x_lstm.numpy())
        np.save(d / "lstm.y.npy", lstm(x_lstm).numpy())
        np.save(d / "bn.x.npy", x_bn.numpy())
        np.save(d / "bn.y.npy", bn(x_bn).numpy())
    seq = torch.nn.Sequential(cnn.conv1, torch.nn.ReLU(), cnn.pool, cnn.conv2, torch.nn.ReLU(),
                              cnn.pool, torch.nn.Flatten(), cnn.fc1, torch.nn.ReLU(), cnn.fc2)
    torch.save(seq, d / "cnn_model.pt")  # a whole model of torch's own classes
    return d


_CHILD = r"""
import json, os, sys
sys.modules["torch"] = None  # any `import torch` now raises ImportError
import numpy as np
import gputensor as gt
from gputensor import nn
d = sys.argv[1]
report = {}

def flat(obj, prefix=""):
    if isinstance(obj, gt.Tensor):
        return {prefix: obj}
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) \
        if isinstance(obj, (list, tuple)) else ()
    out = {}
    for k, v in items:
        out.update(flat(v, f"{prefix}/{k}"))
    return out

def check_values(key, obj, expect_file=None):
    expect = np.load(os.path.join(d, (expect_file or key) + ".expect.npz"))
    got = flat(obj)
    assert sorted(k.replace("/", "|") for k in got) == sorted(expect.files), (key, sorted(got))
    for k, t in got.items():
        e = expect[k.replace("/", "|")]
        a = t.detach().cpu().numpy()
        assert a.dtype == e.dtype and a.shape == e.shape, (key, k, a.dtype, e.dtype, a.shape)
        np.testing.assert_array_equal(a, e, err_msg=f"{key}{k}")
    report[key] = sorted(got)

for key in ("cnn", "lstm", "bn", "adam", "mixed"):
    check_values(key, gt.load(os.path.join(d, key + ".pt")))
check_values("legacy", gt.load(os.path.join(d, "legacy.pt")), "mixed")
check_values("mmap", gt.load(os.path.join(d, "mixed.pt"), mmap=True), "mixed")

class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(2304, 128)
        self.fc2 = nn.Linear(128, 10)
    def forward(self, x):
        x = self.pool(gt.relu(self.conv1(x)))
        x = self.pool(gt.relu(self.conv2(x)))
        return self.fc2(gt.relu(self.fc1(x.flatten(1))))

class LSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(100, 256, 2, batch_first=True)
        self.fc = nn.Linear(256, 10)
    def forward(self, x):
        return self.fc(self.lstm(x)[0][:, -1])

def forward_check(key, model, path=None, tol=1e-4):
    model.load_state_dict(gt.load(os.path.join(d, (path or key) + ".pt")))
    model.eval()
    with gt.no_grad():
        y = model(gt.tensor(np.load(os.path.join(d, key + ".x.npy")))).numpy()
    np.testing.assert_allclose(y, np.load(os.path.join(d, key + ".y.npy")), rtol=tol, atol=tol)
    report[key + "_forward"] = float(np.abs(y).max())

forward_check("cnn", CNN())
forward_check("lstm", LSTM())
forward_check("bn", nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4)))
forward_check("bn", nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4)), "bn_legacy")
m = gt.load(os.path.join(d, "cnn_model.pt"), weights_only=False)
assert isinstance(m, nn.Sequential) and isinstance(m[0], nn.Conv2d), type(m)
with gt.no_grad():
    y = m(gt.tensor(np.load(os.path.join(d, "cnn.x.npy")))).numpy()
np.testing.assert_allclose(y, np.load(os.path.join(d, "cnn.y.npy")), rtol=1e-4, atol=1e-4)
report["whole_model"] = type(m).__name__
assert "torch" not in sys.modules or sys.modules["torch"] is None
print("REPORT" + json.dumps(report))
"""


def test_torch_checkpoints_load_without_torch(ckpts):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", _CHILD, str(ckpts)], capture_output=True,
                       text=True, env=env, timeout=240, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-4000:]
    report = json.loads(r.stdout.split("REPORT", 1)[1])
    assert "/state/0/exp_avg_sq" in report["adam"] and "/conv1.weight" in report["cnn"]
    assert "/1.num_batches_tracked" in report["bn"] and "/lstm.weight_hh_l1" in report["lstm"]
    assert report["whole_model"] == "Sequential"


def test_state_dict_keeps_metadata_and_types(ckpts):
    sd = gt.load(ckpts / "bn.pt")
    assert type(sd) is OrderedDict and sd._metadata["1"] == {"version": 2}
    assert sd["1.num_batches_tracked"].dtype == gt.int64 and sd["1.num_batches_tracked"].item() == 2
    m = gt.load(ckpts / "mixed.pt")
    assert (m["epoch"], m["lr"], m["name"], m["flags"], m["nested"]) == \
        (7, 0.125, "run-1", [True, None], {"a": (1, [2.5])})
    assert isinstance(m["param"], gt.nn.Parameter) and m["param"].requires_grad
    assert m["dtype"] is gt.float16 and m["device"] == gt.device("cpu")
    assert isinstance(m["size"], gt.Size) and tuple(m["size"]) == (2, 3)
    assert m["scalar"].shape == () and m["empty"].shape == (0, 3)


def test_shared_storages_share_memory_after_load(ckpts):
    for path in ("mixed.pt", "legacy.pt"):
        m = gt.load(ckpts / path)
        m["base"][0, 0] = 100.0
        assert m["t"][0, 0].item() == 100.0, "a transposed view shares its base's storage"
        m["first"][3] = -1.0
        assert m["second"][0].item() == -1.0, "overlapping slices of one storage share memory"
        assert m["t"].stride() == (1, 6) and m["strided"].stride() == (6, 2)


def test_adam_state_dict_continues_training(ckpts):
    sd = gt.load(ckpts / "adam.pt")
    assert sd["param_groups"][0]["lr"] == 0.01 and sd["param_groups"][0]["params"] == [0, 1]
    assert sd["state"][0]["step"].item() == 3.0
    params = [gt.nn.Parameter(gt.zeros(3, 2)), gt.nn.Parameter(gt.zeros(2))]
    opt = gt.optim.Adam(params, lr=0.01)
    opt.load_state_dict(sd)
    assert opt.state_dict()["state"][1]["exp_avg"].shape == (2,)


@pytest.mark.parametrize("map_location", [None, "cpu", gt.device("cpu"), {"cpu": "cuda:0"},
                                          "cuda:0", lambda storage, loc: storage,
                                          lambda storage, loc: storage.cuda()])
@pytest.mark.parametrize("path", ["bn.pt", "bn_legacy.pt"])
def test_map_location_forms(ckpts, path, map_location):
    sd = gt.load(ckpts / path, map_location=map_location)
    want = "cuda" if (isinstance(map_location, (str, dict)) and "cuda" in str(map_location)) \
        or (callable(map_location) and "cuda" in map_location.__code__.co_names) else "cpu"
    assert {t.device.type for t in sd.values()} == {want}
    expect = np.load(ckpts / "bn.expect.npz")
    np.testing.assert_array_equal(sd["1.running_var"].cpu().numpy(), expect["|1.running_var"])


def test_cuda_location_strings_follow_the_placer(ckpts, tmp_path):
    t = torch.arange(6.0)
    torch.save({"w": t}, tmp_path / "c.pt")
    # rewrite the location the pickle names, as a checkpoint saved on a GPU would have it
    import zipfile
    with zipfile.ZipFile(tmp_path / "c.pt") as src, \
            zipfile.ZipFile(tmp_path / "g.pt", "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("data.pkl"):
                data = data.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
            dst.writestr(info, data)
    w = gt.load(tmp_path / "g.pt")["w"]
    assert w.device.type == "cuda" and w.cpu().numpy().tolist() == list(range(6))
    w = gt.load(tmp_path / "g.pt", map_location={"cuda:0": "cpu"})["w"]
    assert w.device.type == "cpu"


def test_big_endian_checkpoint(tmp_path):
    import zipfile
    torch.save({"w": torch.arange(5, dtype=torch.int32), "f": torch.tensor([1.5, -2.0])},
               tmp_path / "le.pt")
    with zipfile.ZipFile(tmp_path / "le.pt") as src, \
            zipfile.ZipFile(tmp_path / "be.pt", "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("/byteorder"):
                data = b"big"
            elif info.filename.endswith("/data/0"):
                data = np.frombuffer(data, "<i4").astype(">i4").tobytes()
            elif info.filename.endswith("/data/1"):
                data = np.frombuffer(data, "<f4").astype(">f4").tobytes()
            dst.writestr(info, data)
    out = gt.load(tmp_path / "be.pt")
    assert out["w"].tolist() == [0, 1, 2, 3, 4] and out["f"].tolist() == [1.5, -2.0]


def test_mmap_is_copy_on_write_and_needs_a_path(ckpts, tmp_path):
    raw = (ckpts / "bn.pt").read_bytes()
    (tmp_path / "m.pt").write_bytes(raw)
    sd = gt.load(tmp_path / "m.pt", mmap=True)
    sd["0.weight"][0, 0] = 123.0
    assert (tmp_path / "m.pt").read_bytes() == raw, "writes to a mapped tensor stay private"
    with open(tmp_path / "m.pt", "rb") as fh, \
            pytest.raises(ValueError, match="f must be a file path in order to use the mmap"):
        gt.load(fh, mmap=True)
    with pytest.raises(RuntimeError, match="mmap can only be used with files saved with"):
        gt.load(ckpts / "legacy.pt", mmap=True)


def test_file_objects_and_pickle_module(ckpts):
    import io
    import pickle
    buf = io.BytesIO((ckpts / "bn.pt").read_bytes())
    assert "0.weight" in gt.load(buf)
    with pytest.raises(RuntimeError, match="Can not safely load weights when explicit "
                                           "pickle_module is specified"):
        gt.load(ckpts / "bn.pt", pickle_module=pickle)
    assert "0.bias" in gt.load(ckpts / "bn.pt", pickle_module=pickle, weights_only=False)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        gt.load(ckpts / "bn.pt", encoding="latin1")
    assert any("pickle_load_args only works" in str(x.message) for x in w)


def test_unsupported_dtypes_are_named(tmp_path):
    for dtype in (torch.bfloat16, torch.complex64):
        torch.save({"w": torch.ones(2, dtype=dtype)}, tmp_path / "u.pt")
        with pytest.raises(LoadError, match=f"u.pt.*{str(dtype).split('.')[1]}"):
            gt.load(tmp_path / "u.pt")


def test_whole_model_needs_weights_only_false(ckpts):
    with pytest.raises(LoadError, match=r"(?s)Weights only load failed for .*cnn_model.pt.*"
                                        r"GLOBAL torch.nn.modules.container.Sequential was not "
                                        r"an allowed global"):
        gt.load(ckpts / "cnn_model.pt")


def test_safe_globals_api(tmp_path):
    from gputensor import serialization as S
    S.clear_safe_globals()
    lin = torch.nn.Linear(2, 2)
    torch.save({"t": lin}, tmp_path / "lin.pt")
    with pytest.raises(LoadError, match=r"add_safe_globals\(\[torch.nn.modules.linear.Linear\]\)"):
        gt.load(tmp_path / "lin.pt")
    with S.safe_globals([gt.nn.Linear]):
        assert gt.nn.Linear in S.get_safe_globals()
        m = gt.load(tmp_path / "lin.pt")["t"]  # torch's Linear allowlisted as gputensor's
        assert type(m) is gt.nn.Linear
        np.testing.assert_allclose(m(gt.ones(1, 2)).detach().numpy(),
                                   lin(torch.ones(1, 2)).detach().numpy(), rtol=1e-6)
    assert S.get_safe_globals() == []
    S.add_safe_globals([(OrderedDict, "my.Thing")])
    assert S.get_safe_globals() == [(OrderedDict, "my.Thing")]
    S.clear_safe_globals()
    assert S.get_safe_globals() == []


def test_old_npz_checkpoints_still_load(tmp_path):
    gt.save({"w": gt.arange(4.0), "n": 3}, tmp_path / "old.pth")
    out = gt.load(tmp_path / "old.pth")
    assert out["n"] == 3 and out["w"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_safetensors_files_are_delegated(tmp_path):
    from safetensors.numpy import save_file
    save_file({"a": np.arange(3, dtype=np.float32)}, str(tmp_path / "w.bin"))
    out = gt.load(tmp_path / "w.bin", map_location="cuda")
    assert out["a"].device.type == "cuda" and out["a"].tolist() == [0.0, 1.0, 2.0]
