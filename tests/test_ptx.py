"""Real compile check of every CUDA kernel (PTX for sm_80/sm_90, assembled by ptxas, no spills),
and the static kernel report's arithmetic."""
import os
import subprocess
import sys
from pathlib import Path

from benchmarks import kernels as report
from gputensor.kernels import ptx_check
from gputensor.kernels.ptx_check import KernelStats

ROOT = Path(__file__).resolve().parents[1]

PTXAS_SAMPLE = """\
ptxas info    : 8 bytes gmem
ptxas info    : Compiling entry function '_Z4gemm' for 'sm_90'
ptxas info    : Function properties for _Z4gemm
    16 bytes stack frame, 8 bytes spill stores, 12 bytes spill loads
ptxas info    : Used 121 registers, used 1 barriers, 8448 bytes smem, 400 bytes cmem[0]
"""


def test_every_kernel_compiles_without_spills():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    res = subprocess.run([sys.executable, "-m", "gputensor.kernels.ptx_check"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=1200, check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    for mod in ptx_check.kernel_modules():  # every *_cuda module was covered, on both targets
        assert f"{mod}." in res.stdout, f"{mod} missing from the check:\n{res.stdout}"
    for target in ("sm_80", "sm_90"):
        assert f"matmul_cuda.matmul_float32_128x128 {target}: " in res.stdout


def test_parse_ptxas():
    assert ptx_check.parse_ptxas(PTXAS_SAMPLE) == {
        "registers": 121, "smem": 8448, "stack": 16, "spill_stores": 8, "spill_loads": 12}


def test_spills_and_errors_fail_the_check():
    assert KernelStats("m", "k", (9, 0), 256, registers=100).ok
    assert not KernelStats("m", "k", (9, 0), 256, registers=128, spill_stores=8).ok
    assert not KernelStats("m", "k", (9, 0), 256, spill_loads=4).ok
    assert not KernelStats("m", "k", (9, 0), error="TypingError: ...").ok
    # a kernel module without PTX_SIGNATURES is reported, not skipped (no compile needed)
    stats = ptx_check.check_module("gputensor.kernels._launch", "ptxas")
    assert [s.cc for s in stats] == list(ptx_check.TARGETS)
    assert all("PTX_SIGNATURES" in s.error for s in stats)


def test_check_refuses_simulator():
    assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
    try:
        ptx_check.check_all()
    except RuntimeError as e:
        assert "NUMBA_ENABLE_CUDASIM" in str(e)
    else:
        raise AssertionError("check_all ran under the simulator")


def test_occupancy():
    sm80, sm90 = report.SM_LIMITS[(8, 0)], report.SM_LIMITS[(9, 0)]
    # 121 regs -> 128 per thread after allocation rounding: 16 warps, 2 blocks of 8 warps
    assert report.occupancy(121, 8448, 256, sm90) == (2, 0.25, "registers")
    assert report.occupancy(16, 0, 1024, sm80) == (2, 1.0, "threads")
    assert report.occupancy(32, 0, 32, sm80) == (32, 0.5, "blocks")
    # 100 KiB blocks: one fits sm_80's 164 KiB, two fit sm_90's 228 KiB
    assert report.occupancy(32, 100 * 1024, 128, sm80) == (1, 0.0625, "smem")
    assert report.occupancy(32, 100 * 1024, 128, sm90) == (2, 0.125, "smem")


def test_static_table_lines():
    stats = [KernelStats("gputensor.kernels.matmul_cuda", "matmul_float32_128x128", (9, 0), 256,
                         registers=121, smem=8448),
             KernelStats("gputensor.kernels.conv_cuda", "conv", (8, 0), error="TypingError: x")]
    lines = report.static_table(stats)
    assert "matmul_cuda.matmul_float32_128x128" in lines[2] and "25.0%" in lines[2]
    assert "121" in lines[2] and "8448" in lines[2] and "registers" in lines[2]
    assert "FAILED: TypingError" in lines[3]


def test_timing_refuses_simulator(capsys):
    assert report.main([]) == 2
    assert "simulator" in capsys.readouterr().err
