"""Devices: ``gputensor.device`` parsing, ``gputensor.cuda`` under the simulator and without cuda,
and errors when tensors on different devices meet."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import gputensor as gt


def test_device_objects():
    assert str(gt.device("cuda:0")) == "cuda:0" and gt.device("cuda").index is None
    assert gt.device("cuda", 0) == gt.device("cuda:0") != gt.device("cuda")
    assert gt.device("cpu") == "cpu" and repr(gt.device("cpu")) == "device(type='cpu')"
    assert repr(gt.device("cuda:0")) == "device(type='cuda', index=0)"
    assert gt.device(gt.device("cuda:0")).index == 0 and gt.device(0) == gt.device("cuda:0")
    assert len({gt.device("cpu"), gt.device("cpu")}) == 1
    with pytest.raises(ValueError, match="unknown device type 'tpu'"):
        gt.device("tpu")
    with pytest.raises(ValueError, match="invalid device string"):
        gt.device("cuda:x")
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        gt.zeros(1, device="cuda:1")


def test_cuda_module_under_simulator():
    assert gt.cuda.is_available() and gt.cuda.is_simulator()
    assert gt.cuda.device_count() == 1 and gt.cuda.current_device() == 0
    assert gt.cuda.get_device_name() == "Numba CUDA simulator"
    gt.cuda.synchronize()
    assert gt.cuda.memory_allocated() == 0 and gt.cuda.memory_reserved() == 0
    assert gt.cuda.max_memory_allocated() == 0
    gt.cuda.empty_cache()
    gt.cuda.reset_peak_memory_stats()
    state = gt.cuda.get_rng_state()
    a = gt.rand(3, device="cuda")
    gt.cuda.set_rng_state(state)
    assert gt.rand(3, device="cuda").tolist() == a.tolist()
    gt.zeros(1, device="cuda")
    assert gt.cuda.is_initialized()


def test_reference_device_idiom():
    device = gt.device("cuda" if gt.cuda.is_available() else "cpu")
    x = gt.zeros(2, 3).to(device)
    assert x.device == gt.device("cuda:0")


@pytest.mark.parametrize("op", [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a @ b.T])
def test_mixed_devices_raise_naming_both(op):
    a, b = gt.ones(2, 2), gt.ones(2, 2, device="cuda")
    for x, y in ((a, b), (b, a)):
        with pytest.raises(RuntimeError, match="same device.*(cpu and cuda:0|cuda:0 and cpu)"):
            op(x, y)


def test_grad_output_on_other_device_raises():
    y = gt.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="is on cuda:0 but output.*is on cpu"):
        y.backward(gt.ones(2, device="cuda"))


def test_without_cuda_everything_says_so():
    """A process without the simulator and without a GPU: is_available is False, others raise."""
    code = (
        "import gputensor as gt\n"
        "assert gt.cuda.is_available() is False and gt.cuda.device_count() == 0\n"
        "for f in (gt.cuda.current_device, gt.cuda.synchronize, gt.cuda.memory_allocated,\n"
        "          lambda: gt.zeros(1, device='cuda'), lambda: gt.ones(1).cuda(),\n"
        "          lambda: gt.cuda.manual_seed(1)):\n"
        "    try:\n"
        "        f()\n"
        "    except RuntimeError as e:\n"
        "        assert 'CUDA is not available' in str(e), e\n"
        "    else:\n"
        "        raise AssertionError(f)\n"
        "gt.manual_seed(0)\n"
        "print('ok')\n")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0", CUDA_VISIBLE_DEVICES="")
    root = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, cwd=root)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"
