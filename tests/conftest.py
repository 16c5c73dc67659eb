"""Test setup: every device-parametrized test runs on cpu and on cuda.

The cuda run uses Numba's CUDA simulator unless NUMBA_ENABLE_CUDASIM is set otherwise (set it to
0 on a GPU machine to run the same tests on the real device). It must be set before numba loads.
"""
import os

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gputensor as gt  # noqa: E402


@pytest.fixture(params=["cpu", "cuda"])
def device(request) -> str:
    """The device under test; simulated shapes must stay tiny and odd-sized."""
    if request.param == "cuda" and not gt.cuda.is_available():
        pytest.fail("cuda device unavailable: set NUMBA_ENABLE_CUDASIM=1 or run on a GPU")
    return request.param


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _seed():
    gt.manual_seed(0)
    yield
