"""Realistic PyTorch programs (``tests/programs/``) run unchanged under torch and under gputensor
posing as ``torch``, from the same initial weights and the same random draws, and their
per-step losses match.

Each program runs in a subprocess through ``tests/programs/_launch.py`` (see its docstring for
the hooks: torch-name aliasing, initial ``state_dict`` dump/load at the first forward, shared
NumPy randomness for ``rand*``/``randn*`` and DataLoader shuffling, a record of every scalar
``backward()``). The torch run is done once per program and shared by its device variants.

Dropout is the one randomness that cannot be shared (torch draws LSTM dropout masks in C++),
so the compared runs pass ``--dropout 0``; dropout layers still run, in training mode, as
identities. Tolerances: float32 programs allow 1e-4 relative error on the first loss, growing
with the step (chaotic updates amplify last-bit differences: Adadelta/SGD at lr 5-20, a GAN);
the float64 L-BFGS program is held to 1e-9 growing.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "programs")
LAUNCH = os.path.join(PROGRAMS, "_launch.py")
ROOT = os.path.dirname(HERE)


@dataclass
class Program:
    name: str
    args: list = field(default_factory=list)
    rtol: float = 1e-4  # on the first recorded loss
    growth: float = 1.25  # tolerance factor per further recorded loss
    max_rtol: float = 5e-3
    device_args: dict = field(default_factory=lambda: {"cpu": ["--device", "cpu"],
                                                       "cuda": ["--device", "cuda"]})


_ACCEL = {"cpu": ["--no-accel"], "cuda": []}  # mnist_cnn picks torch.accelerator's device
SUITE = {p.name: p for p in [
    Program("mnist_cnn", ["--dropout", "0"], device_args=_ACCEL),
    Program("vae"),
    Program("word_lm", ["--dropout", "0"]),
    Program("transformer_lm", ["--dropout", "0"]),
    Program("gcn", ["--dropout", "0"]),
    Program("dcgan"),
    Program("super_resolution"),
    Program("time_sequence", rtol=1e-9, growth=1.5, max_rtol=1e-5),
    Program("char_rnn"),
]}
CUDA_PROGRAMS = ["vae", "gcn"]  # the simulator is slow: only the two smallest


def _env() -> dict:
    env = dict(os.environ)
    env.setdefault("NUMBA_ENABLE_CUDASIM", "1")
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONWARNINGS"] = "ignore"  # torch's own UserWarnings are not under test here
    return env


def run_program(lib: str, prog: Program, device: str, out_dir, init: str) -> dict:
    """Run one program; returns its record (losses, error) plus the process' output."""
    record = os.path.join(out_dir, f"{prog.name}-{lib}-{device}.json")
    flag = "--dump-init" if lib == "torch" else "--load-init"
    final = os.path.join(out_dir, f"{prog.name}-{lib}-{device}-final.npz")
    cmd = [sys.executable, LAUNCH, "--lib", lib, "--record", record, flag, init, "--final", final,
           os.path.join(PROGRAMS, prog.name + ".py"), "--", *prog.args,
           *prog.device_args[device]]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=str(out_dir),
                          timeout=300)
    rec = json.load(open(record)) if os.path.exists(record) else {"losses": [], "error": None}
    rec["returncode"], rec["stderr"] = proc.returncode, proc.stderr[-4000:]
    rec["final"] = final
    return rec


@pytest.fixture(scope="module")
def torch_runs(tmp_path_factory):
    """Reference records, one torch run per program (lazily, on first use)."""
    out = tmp_path_factory.mktemp("programs")
    cache: dict = {}

    def get(name: str):
        if name not in cache:
            prog = SUITE[name]
            init = str(out / f"{name}-init.npz")
            rec = run_program("torch", prog, "cpu", out, init)
            assert rec["returncode"] == 0 and not rec["error"], \
                f"{name} fails under real torch:\n{rec['stderr']}"
            cache[name] = (rec, init, out)
        return cache[name]
    return get


def _assert_losses_match(prog: Program, ref: list, got: list) -> None:
    assert len(got) == len(ref), f"{len(got)} backward() calls, torch made {len(ref)}"
    ref, got = np.asarray(ref), np.asarray(got)
    assert np.isfinite(ref).all()
    tol = np.minimum(prog.rtol * prog.growth ** np.arange(len(ref)), prog.max_rtol)
    rel = np.abs(got - ref) / np.maximum(np.abs(ref), 1e-12)
    bad = np.nonzero(~(rel <= tol))[0]
    assert bad.size == 0, (
        f"loss {bad[0]} differs: torch {ref[bad[0]]!r}, gputensor {got[bad[0]]!r} "
        f"(rel {rel[bad[0]]:.2e} > {tol[bad[0]]:.1e}); torch losses {ref.tolist()}, "
        f"gputensor {got.tolist()}")


@pytest.mark.parametrize("name,device", [(n, "cpu") for n in SUITE]
                         + [(n, "cuda") for n in CUDA_PROGRAMS])
def test_program_matches_torch(torch_runs, name, device):
    prog = SUITE[name]
    ref, init, out = torch_runs(name)
    assert len(ref["losses"]) >= 4
    rec = run_program("gputensor", prog, device, out, init)
    assert rec.get("torch_is") == "gputensor" or rec["error"], rec["stderr"]
    assert rec["returncode"] == 0 and not rec["error"], \
        f"{name} on {device} fails under gputensor: {rec['error']}\n{rec['stderr']}"
    assert rec["init_keys"] == ref["init_keys"]
    _assert_losses_match(prog, ref["losses"], rec["losses"])
    _assert_final_weights_match(prog, len(ref["losses"]), ref["final"], rec["final"])


def _assert_final_weights_match(prog: Program, steps: int, ref_path: str, got_path: str) -> None:
    """The trained weights agree too (this also covers the last optimizer step, which no
    recorded loss sees), at 10x the last loss' tolerance relative to each tensor's scale."""
    tol = 10 * min(prog.rtol * prog.growth ** steps, prog.max_rtol)
    with np.load(ref_path) as ref, np.load(got_path) as got:
        assert sorted(got.files) == sorted(ref.files)
        for k in ref.files:
            r, g = ref[k], got[k]
            assert g.shape == r.shape and g.dtype == r.dtype, (k, g.shape, g.dtype, r.dtype)
            scale = max(float(np.abs(r).max()), 1e-12) if r.size else 1.0
            err = float(np.abs(g.astype(np.float64) - r).max()) / scale if r.size else 0.0
            assert err <= tol, f"final {k} differs from torch's by {err:.2e} (> {tol:.1e})"


ALIAS_PROBE = """
import torch, torch.nn as nn, torch.nn.functional as F, torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset
import torch.nn.init as init
from torch.optim.lr_scheduler import StepLR
import gputensor, sys
assert torch is gputensor and nn is gputensor.nn and F is gputensor.nn.functional
assert optim is gputensor.optim and init is gputensor.nn.init
assert DataLoader is gputensor.utils.data.DataLoader and StepLR is optim.lr_scheduler.StepLR
assert torch.__spec__.name == "gputensor" and nn.__spec__.name == "gputensor.nn"
try:
    import torch.no_such_module
except ModuleNotFoundError as e:
    assert "gputensor.no_such_module" in str(e), e
else:
    raise AssertionError("imported a module that does not exist")
lin = nn.Linear(2, 1)
lin(torch.ones(1, 2)).sum().backward()
"""


def test_launcher_aliases_torch_to_gputensor(tmp_path):
    """The launcher maps every ``torch`` import to gputensor, real torch stays unimported, and
    the hooks record losses and dump/load initial weights by name."""
    probe = tmp_path / "probe.py"
    probe.write_text(ALIAS_PROBE)
    cmd = [sys.executable, LAUNCH, "--lib", "gputensor", "--record", str(tmp_path / "r.json"),
           "--dump-init", str(tmp_path / "w.npz"), str(probe)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=120)
    rec = json.load(open(tmp_path / "r.json"))
    assert proc.returncode == 0 and rec["error"] is None, proc.stderr
    assert rec["torch_is"] == "gputensor" and len(rec["losses"]) == 1
    assert rec["init_keys"] == ["m0.bias", "m0.weight"]


def test_tolerance_check_can_fail():
    prog = SUITE["vae"]
    _assert_losses_match(prog, [1.0, 2.0], [1.0, 2.0 * (1 + 5e-5)])
    with pytest.raises(AssertionError, match="loss 1 differs"):
        _assert_losses_match(prog, [1.0, 2.0], [1.0, 2.01])
    with pytest.raises(AssertionError, match="backward"):
        _assert_losses_match(prog, [1.0, 2.0], [1.0])
