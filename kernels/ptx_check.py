"""Real compile check of every shipped CUDA kernel, without a GPU.

Discovers ``kernels/*_cuda.py``, and for each entry of a module's ``PTX_SIGNATURES`` (see the
package docstring) compiles the kernel to PTX with ``cuda.compile_ptx`` for each target and
assembles it with ``ptxas -v``, collecting registers, spills, stack and shared memory per thread
block. ``python -m kernels.ptx_check`` prints one line per kernel and target and exits 1 if any
kernel fails to compile, declares no signatures, or spills registers.

Must run in a process without ``NUMBA_ENABLE_CUDASIM`` (the simulator cannot compile); needs
``numba-cuda[cu13]``, ``cuda-toolkit==13.0.*`` (the ``ptx`` extra) and ``ptxas`` on PATH or at
``/usr/local/bin/ptxas``.
"""
from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

TARGETS = ((8, 0), (9, 0))
_FALLBACK_PTXAS = "/usr/local/bin/ptxas"


@dataclass
class KernelStats:
    """ptxas figures for one kernel on one target (``error`` set when it failed to build)."""
    module: str
    name: str
    cc: tuple
    threads: int | None = None
    registers: int = 0
    spill_stores: int = 0
    spill_loads: int = 0
    stack: int = 0
    smem: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.spill_stores == 0 and self.spill_loads == 0


def kernel_modules() -> list[str]:
    """Dotted names of every ``*_cuda`` module next to this file."""
    here = Path(__file__).resolve().parent
    return [f"{__package__}.{p.stem}" for p in sorted(here.glob("*_cuda.py"))]


def ptxas_path() -> str:
    found = shutil.which("ptxas") or (_FALLBACK_PTXAS if os.path.exists(_FALLBACK_PTXAS) else None)
    if found is None:
        raise RuntimeError("ptxas not found on PATH or at /usr/local/bin/ptxas (install the CUDA "
                           "13.0 toolkit)")
    return found


_PATTERNS = {
    "registers": r"Used (\d+) registers",
    "smem": r"(\d+) bytes smem",
    "stack": r"(\d+) bytes stack frame",
    "spill_stores": r"(\d+) bytes spill stores",
    "spill_loads": r"(\d+) bytes spill loads",
}


def parse_ptxas(text: str) -> dict:
    """The figures of a ``ptxas -v`` report for a single entry function."""
    out = {}
    for key, pat in _PATTERNS.items():
        found = re.search(pat, text)
        out[key] = int(found.group(1)) if found else 0
    return out


def _assemble(ptx: str, cc: tuple, ptxas: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "k.ptx")
        with open(src, "w") as f:
            f.write(ptx)
        res = subprocess.run([ptxas, f"-arch=sm_{cc[0]}{cc[1]}", "-v", src, "-o",
                              os.path.join(tmp, "k.cubin")], capture_output=True, text=True,
                             check=False)
    if res.returncode:
        raise RuntimeError(f"ptxas failed: {res.stderr.strip()}")
    return parse_ptxas(res.stderr)


def check_module(modname: str, ptxas: str, targets=TARGETS) -> list[KernelStats]:
    """Compile and assemble every declared kernel of one module for every target."""
    from numba import cuda
    try:
        entries = importlib.import_module(modname).PTX_SIGNATURES
    except Exception as e:  # noqa: BLE001 -- a broken module is reported, not fatal
        return [KernelStats(modname, "<module>", cc, error=f"{type(e).__name__}: {e}")
                for cc in targets]
    if not entries:
        return [KernelStats(modname, "<module>", cc, error="PTX_SIGNATURES is empty")
                for cc in targets]
    stats = []
    for entry in entries:
        kernel, sig, name = entry[:3]
        threads = entry[3] if len(entry) > 3 else None
        opts = getattr(kernel, "targetoptions", {})
        for cc in targets:
            st = KernelStats(modname, name, cc, threads)
            try:
                ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=cc,
                                          fastmath=opts.get("fastmath", False),
                                          launch_bounds=opts.get("launch_bounds"))
                for key, val in _assemble(ptx, cc, ptxas).items():
                    setattr(st, key, val)
            except Exception as e:  # noqa: BLE001 -- any build failure is a reported result
                st.error = f"{type(e).__name__}: {str(e).strip().splitlines()[0]}"
            stats.append(st)
    return stats


def check_all(targets=TARGETS) -> list[KernelStats]:
    """Stats for every kernel of every ``*_cuda`` module (refuses to run under the simulator)."""
    from ._launch import simulator_enabled
    if simulator_enabled():
        raise RuntimeError("the PTX check needs a process without NUMBA_ENABLE_CUDASIM=1 (the "
                           "simulator cannot compile kernels)")
    ptxas = ptxas_path()
    return [s for mod in kernel_modules() for s in check_module(mod, ptxas, targets)]


def main() -> int:
    stats = check_all()
    for s in stats:
        where = f"{s.module}.{s.name} sm_{s.cc[0]}{s.cc[1]}"
        if s.error:
            print(f"FAIL {where}: {s.error}")
        else:
            print(f"{'ok  ' if s.ok else 'SPILL'} {where}: {s.registers} regs, "
                  f"{s.spill_stores}/{s.spill_loads} B spill st/ld, {s.stack} B stack, "
                  f"{s.smem} B smem")
    bad = [s for s in stats if not s.ok]
    print(f"{len(stats) - len(bad)}/{len(stats)} kernel builds clean")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
