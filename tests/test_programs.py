"""Realistic PyTorch programs (``tests/programs/``) run unchanged under torch and under gputensor
posing as ``torch``, from the same initial weights and the same random draws, and their
per-step losses and final weights match.

Each program runs in a subprocess through ``tests/programs/_launch.py`` (see its docstring for
the hooks: torch-name aliasing, initial ``state_dict`` dump/load at the first forward, shared
NumPy randomness for ``rand*``/``randn*`` and DataLoader shuffling, a record of every scalar
``backward()``, final ``state_dict``s). The torch references all run in one subprocess.

Dropout is the one randomness that cannot be shared (torch draws LSTM dropout masks in C++),
so the compared runs pass ``--dropout 0``; dropout layers still run, in training mode, as
identities. Tolerances: float32 programs allow 1e-4 relative error on the first loss, growing
25% per recorded loss up to 5e-3 (chaotic updates amplify last-bit differences: SGD at lr 5-20,
a GAN), and the same on final weights relative to each tensor's largest entry; the float64
L-BFGS program 1e-9 growing 50% per loss. Observed when written: losses within 3e-7, final
weights within 7e-6 (float32); 2e-13 and 1e-13 (float64). The gputensor runs turn NumPy
RuntimeWarnings into errors (none may leak to users).
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
    # final-state keys not compared, each with the reason in SUITE
    skip_final: tuple = ()
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
    # Va.bias shifts every attention score equally, so softmax makes its true gradient 0; Adam
    # turns the rounding noise left in it into lr-sized steps of arbitrary sign (in torch too).
    Program("seq2seq", ["--dropout", "0"], skip_final=("m1.attention.Va.bias",)),
]}
# The simulator is slow: only two programs, shortened (their own torch references).
CUDA_SUITE = {p.name: p for p in [Program("vae", ["--epochs", "1", "--train-size", "8",
                                                  "--batch-size", "4"]),
                                  Program("gcn", ["--dropout", "0", "--epochs", "4"])]}


def _env(lib: str) -> dict:
    env = dict(os.environ)
    env.setdefault("NUMBA_ENABLE_CUDASIM", "1")
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    # torch's own UserWarnings are not under test; gputensor must leak no NumPy RuntimeWarning
    env["PYTHONWARNINGS"] = "ignore" if lib == "torch" else "error::RuntimeWarning"
    return env


def _job(lib: str, prog: Program, device: str, out_dir, init: str, args=None, tag: str = ""):
    """The launcher arguments of one run, and the paths of its record and final weights."""
    record = os.path.join(out_dir, f"{prog.name}-{lib}-{device}{tag}.json")
    final = os.path.join(out_dir, f"{prog.name}-{lib}-{device}{tag}-final.npz")
    flag = "--dump-init" if lib == "torch" else "--load-init"
    argv = ["--lib", lib, "--record", record, flag, init, "--final", final,
            os.path.join(PROGRAMS, prog.name + ".py"), "--",
            *(prog.args if args is None else args), *prog.device_args[device]]
    return argv, record, final


def _launch(launcher_args: list, out_dir, lib: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, LAUNCH, *launcher_args], capture_output=True,
                          text=True, env=_env(lib), cwd=str(out_dir), timeout=600)


def _result(record: str, final: str, proc) -> dict:
    rec = json.load(open(record)) if os.path.exists(record) else {"losses": [], "error": None}
    rec["returncode"], rec["stderr"] = proc.returncode, proc.stderr[-4000:]
    rec["final"] = final
    return rec


def run_program(lib: str, prog: Program, device: str, out_dir, init: str, args=None,
                tag: str = "") -> dict:
    """Run one program (with ``prog.args`` or ``args``); returns its record (losses, error)
    plus the process' output and the path of its final weights."""
    argv, record, final = _job(lib, prog, device, out_dir, init, args, tag)
    return _result(record, final, _launch(argv, out_dir, lib))


@pytest.fixture(scope="module")
def torch_runs(tmp_path_factory, request):
    """Reference records from real torch: on first use, every program the selected tests need
    runs in ONE subprocess (``--jobs``), so torch is imported once, not once per program."""
    out = tmp_path_factory.mktemp("programs")
    cache: dict = {}

    def key(prog: Program):
        return prog.name, tuple(prog.args)

    def needed() -> list:
        progs = []
        for item in request.session.items:
            params = getattr(getattr(item, "callspec", None), "params", {})
            if item.module.__name__ == __name__ and "name" in params:
                suite = CUDA_SUITE if params.get("device") == "cuda" else SUITE
                if params["name"] in suite and key(suite[params["name"]]) not in \
                        {key(p) for p in progs}:
                    progs.append(suite[params["name"]])
        return progs

    def get(prog: Program):
        if key(prog) not in cache:
            batch = [p for p in needed() if key(p) not in cache]
            batch = batch if key(prog) in {key(p) for p in batch} else batch + [prog]
            jobs, paths = [], []
            for i, p in enumerate(batch):
                init = str(out / f"{p.name}-{len(cache) + i}-init.npz")
                argv, record, final = _job("torch", p, "cpu", out, init, tag=f"-{len(cache) + i}")
                jobs.append(argv)
                paths.append((p, init, record, final))
            with open(out / "jobs.json", "w") as fh:
                json.dump(jobs, fh)
            proc = _launch(["--jobs", str(out / "jobs.json")], out, "torch")
            for p, init, record, final in paths:
                cache[key(p)] = (_result(record, final, proc), init, out)
        rec, init, out_dir = cache[key(prog)]
        assert not rec["error"] and os.path.exists(rec["final"]), \
            f"{prog.name} fails under real torch: {rec['error']}\n{rec['stderr']}"
        return rec, init, out_dir
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
                         + [(n, "cuda") for n in CUDA_SUITE])
def test_program_matches_torch(torch_runs, name, device):
    prog = (SUITE if device == "cpu" else CUDA_SUITE)[name]
    ref, init, out = torch_runs(prog)
    assert len(ref["losses"]) >= (4 if device == "cpu" else 2)
    rec = run_program("gputensor", prog, device, out, init)
    assert rec.get("torch_is") == "gputensor" or rec["error"], rec["stderr"]
    assert rec["returncode"] == 0 and not rec["error"], \
        f"{name} on {device} fails under gputensor: {rec['error']}\n{rec['stderr']}"
    assert rec["init_keys"] == ref["init_keys"]
    _assert_losses_match(prog, ref["losses"], rec["losses"])
    _assert_final_weights_match(prog, len(ref["losses"]), ref["final"], rec["final"])


def _assert_final_weights_match(prog: Program, steps: int, ref_path: str, got_path: str) -> None:
    """The trained weights agree too (this also covers the last optimizer step, which no
    recorded loss sees), at the last loss' tolerance relative to each tensor's largest entry."""
    tol = min(prog.rtol * prog.growth ** steps, prog.max_rtol)
    with np.load(ref_path) as ref, np.load(got_path) as got:
        assert sorted(got.files) == sorted(ref.files)
        for k in sorted(set(ref.files) - set(prog.skip_final)):
            r, g = ref[k], got[k]
            assert g.shape == r.shape and g.dtype == r.dtype, (k, g.shape, g.dtype, r.dtype)
            scale = max(float(np.abs(r).max()), 1e-12) if r.size else 1.0
            err = float(np.abs(g.astype(np.float64) - r).max()) / scale if r.size else 0.0
            assert err <= tol, f"final {k} differs from torch's by {err:.2e} (> {tol:.1e})"


@pytest.mark.parametrize("name", ["word_lm", "transformer_lm", "gcn"])
def test_program_runs_with_dropout(torch_runs, name):
    """With their default dropout on (nn.Dropout, LSTM/Transformer-internal and F.dropout),
    the programs run under gputensor, make the same backward() calls, stay finite, and their
    losses move off the dropout-free reference (so dropout was really active)."""
    prog = SUITE[name]
    ref, init, out = torch_runs(prog)
    rec = run_program("gputensor", prog, "cpu", out, init, args=[], tag="-dropout")
    assert rec["returncode"] == 0 and not rec["error"], f"{rec['error']}\n{rec['stderr']}"
    got = np.asarray(rec["losses"])
    assert len(got) == len(ref["losses"]) and np.isfinite(got).all()
    assert not np.allclose(got, ref["losses"], rtol=1e-3)


def test_program_comparison_catches_other_weights(torch_runs, tmp_path):
    """The whole pipeline can fail: initial weights off by 1% are detected by both checks."""
    prog = SUITE["vae"]
    ref, init, out = torch_runs(prog)
    with np.load(init) as f:
        off = {k: f[k] * (1 + 1e-2) for k in f.files}
    bad = str(tmp_path / "off.npz")
    np.savez(bad, **off)
    rec = run_program("gputensor", prog, "cpu", tmp_path, bad)
    assert rec["returncode"] == 0, rec["stderr"]
    with pytest.raises(AssertionError, match="differs"):
        _assert_losses_match(prog, ref["losses"], rec["losses"])
    with pytest.raises(AssertionError, match="differs"):
        _assert_final_weights_match(prog, len(ref["losses"]), ref["final"], rec["final"])


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
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env("gputensor"), timeout=120)
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
