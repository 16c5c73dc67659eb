"""Run one program of this folder under real torch or under gputensor posing as ``torch``.

    python tests/programs/_launch.py --lib torch|gputensor --record OUT.json \
        [--dump-init W.npz | --load-init W.npz] [--final F.npz] PROGRAM.py -- [program args]
    python tests/programs/_launch.py --jobs JOBS.json   # a JSON list of such argument lists

The program's text is never changed: everything the comparison needs is hooked from outside.

* ``--lib gputensor`` puts a ``sys.meta_path`` finder first that resolves ``torch`` and every
  ``torch.X.Y`` to the already-importable ``gputensor.X.Y`` module object (the real torch, which
  is installed in the same venv, is never imported; the launcher checks that at the end).
* Same initial weights: every ``nn.Module`` built is remembered; at the program's first module
  call (the first forward, after the models are built, moved and cast) the top-level modules'
  ``state_dict``s are dumped (torch run) or loaded with ``load_state_dict`` (gputensor run),
  keyed ``m<creation index of the root>.<state_dict key>``. Keys thus name the mismatch when
  the two libraries' parameter names differ.
* Same randomness: ``torch.rand/randn/rand_like/randn_like`` and the DataLoader's
  ``RandomSampler`` draw from one NumPy generator seeded here, identically in both runs.
  Dropout cannot be redirected (torch's LSTM dropout is in C++), so the comparisons run the
  programs with ``--dropout 0``.
* Losses: every ``Tensor.backward()`` on a one-element tensor records ``float(loss)``; the list
  goes to ``--record`` as JSON when the program ends (also when it raises: the error is recorded).
* ``--final W.npz`` writes the same root modules' ``state_dict``s when the program has ended.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.util
import json
import runpy
import sys
import traceback

import numpy as np

SEED = 20260


class _TorchAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``torch[.X.Y]`` -> the module object ``gputensor[.X.Y]`` (one module, two names)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        real = importlib.import_module("gputensor" + fullname[len("torch"):])
        spec = importlib.util.spec_from_loader(fullname, self,
                                               is_package=hasattr(real, "__path__"))
        spec._gt_real = real  # type: ignore[attr-defined]
        return spec

    def create_module(self, spec):
        mod = spec._gt_real
        spec._gt_saved = mod.__spec__  # importlib overwrites __spec__; exec_module restores it
        return mod

    def exec_module(self, module):
        module.__spec__ = module.__spec__._gt_saved


def _install_alias() -> None:
    if not any(isinstance(f, _TorchAlias) for f in sys.meta_path):
        sys.meta_path.insert(0, _TorchAlias())


_ORIGINALS: dict = {}


def _original(owner, name: str):
    """``owner.name`` as it was before any job of this process patched it."""
    return _ORIGINALS.setdefault((id(owner), name), getattr(owner, name))


def _patch(torch, args) -> tuple[dict, list]:
    """Install the hooks; returns the record written at exit and the list of modules built."""
    nn = torch.nn
    rec: dict = {"losses": [], "error": None, "init_keys": []}
    rng = np.random.default_rng(SEED)
    modules: list = []
    state = {"done": False}

    orig_init = _original(nn.Module, "__init__")

    def init(self, *a, **k):
        orig_init(self, *a, **k)
        modules.append(self)

    orig_call = _original(nn.Module, "__call__")

    def call(self, *a, **k):
        if not state["done"]:
            state["done"] = True
            _sync_init(torch, modules, args, rec)
        return orig_call(self, *a, **k)

    orig_backward = _original(torch.Tensor, "backward")

    def backward(self, *a, **k):
        if self.numel() == 1:
            rec["losses"].append(float(self.detach().cpu().reshape(-1)[0].item()))
        return orig_backward(self, *a, **k)

    nn.Module.__init__, nn.Module.__call__, torch.Tensor.backward = init, call, backward

    def _sizes(size, kw_size=None):
        size = size if kw_size is None else (kw_size,)
        if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)):
            size = tuple(size[0])
        return tuple(int(s) for s in size)

    def _make(arr, dtype, device):
        dtype = dtype if dtype is not None else torch.get_default_dtype()
        return torch.from_numpy(np.ascontiguousarray(arr)).to(device=device or "cpu",
                                                               dtype=dtype)

    def randn(*size, dtype=None, device=None, generator=None, requires_grad=False,
             **kw):
        t = _make(rng.standard_normal(_sizes(size, kw.get("size"))), dtype, device)
        return t.requires_grad_(requires_grad)

    def rand(*size, dtype=None, device=None, generator=None, requires_grad=False,
             **kw):
        t = _make(rng.random(_sizes(size, kw.get("size"))), dtype, device)
        return t.requires_grad_(requires_grad)

    def randn_like(x, dtype=None, device=None, **_):
        return randn(tuple(x.shape), dtype=dtype or x.dtype, device=device or x.device)

    def rand_like(x, dtype=None, device=None, **_):
        return rand(tuple(x.shape), dtype=dtype or x.dtype, device=device or x.device)

    torch.randn, torch.rand, torch.randn_like, torch.rand_like = randn, rand, randn_like, rand_like

    def sampler_iter(self):  # (shuffling only: replacement/num_samples are not modelled)
        return iter(rng.permutation(len(self.data_source)).tolist())

    torch.utils.data.RandomSampler.__iter__ = sampler_iter
    return rec, modules


def _roots(modules) -> list:
    """(creation index among roots, module) for every module that is no other's submodule."""
    inner = {id(c) for m in modules for c in m.modules() if c is not m}
    return list(enumerate(m for m in modules if id(m) not in inner))


def _state_arrays(roots) -> dict:
    return {f"m{i}.{k}": v.detach().cpu().numpy()
            for i, m in roots for k, v in m.state_dict().items()}


def _sync_init(torch, modules, args, rec) -> None:
    """Dump (torch) or load (gputensor) the root modules' state at the first forward."""
    roots = _roots(modules)
    if args.dump_init:
        arrays = _state_arrays(roots)
        np.savez(args.dump_init, **arrays)
        rec["init_keys"] = sorted(arrays)
    elif args.load_init:
        with np.load(args.load_init) as f:
            arrays = {k: f[k] for k in f.files}
        for i, m in roots:
            prefix = f"m{i}."
            sd = {k[len(prefix):]: torch.from_numpy(v.copy()) for k, v in arrays.items()
                  if k.startswith(prefix)}
            if not sd and not m.state_dict():
                continue
            m.load_state_dict(sd)
        rec["init_keys"] = sorted(arrays)


def run_one(argv: list) -> int:
    """One program run, as described in the module docstring; returns its exit status."""
    split = argv.index("--") if "--" in argv else len(argv)
    p = argparse.ArgumentParser()
    p.add_argument("--lib", choices=["torch", "gputensor"], required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--dump-init")
    p.add_argument("--load-init")
    p.add_argument("--final", help="write the root modules' final state_dicts here (.npz)")
    p.add_argument("program")
    args = p.parse_args(argv[:split])
    argv0 = list(sys.argv)
    if args.lib == "gputensor":
        _install_alias()
    import torch
    rec, modules = _patch(torch, args)
    sys.argv = [args.program] + argv[split + 1:]
    code = 0
    try:
        runpy.run_path(args.program, run_name="__main__")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException as e:  # recorded for the test's message, then re-raised as exit code
        rec["error"] = f"{type(e).__name__}: {e}"
        rec["traceback"] = traceback.format_exc()
        code = 1
    if args.final and not rec["error"]:
        np.savez(args.final, **_state_arrays(_roots(modules)))
    if args.lib == "gputensor":
        rec["torch_is"] = sys.modules["torch"].__name__
    with open(args.record, "w") as fh:
        json.dump(rec, fh)
    if rec.get("traceback"):
        sys.stderr.write(rec["traceback"])
    sys.argv = argv0
    return code


def main() -> int:
    """``_launch.py ARGS...`` runs one program; ``_launch.py --jobs J.json`` runs each ARGS list
    of J.json in turn in this one process (the torch references: one torch import for all)."""
    if sys.argv[1:2] == ["--jobs"]:
        with open(sys.argv[2]) as fh:
            jobs = json.load(fh)
        return max([run_one(job) for job in jobs], default=0)
    return run_one(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
