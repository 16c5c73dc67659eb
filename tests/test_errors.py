"""Exception types and messages torch code catches, compared with torch's own."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gputensor as gt
import gputensor.nn.functional as GF


def _raised(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e), str(e)
    return None


def _same_error(call: str, device: str = "cpu"):
    """Evaluate ``call`` with ``lib`` bound to torch, then to gputensor: same type and message."""
    expected = _raised(lambda: eval(call, {"lib": torch, "F": TF, "dev": "cpu"}))
    got = _raised(lambda: eval(call, {"lib": gt, "F": GF, "dev": device}))
    assert expected is not None, f"torch did not raise for {call}"
    assert got == expected, call


BROADCAST = [
    "lib.ones(2, device=dev) + lib.ones(4, device=dev)",
    "lib.ones(2, 3, device=dev) * lib.ones(4, 3, device=dev)",
    "lib.ones(2, 1, 3, device=dev) - lib.ones(4, 5, device=dev)",
    "lib.ones(2, 3, device=dev) / lib.ones(4, 5, device=dev)",
    "lib.ones(5, 2, 3, device=dev) ** lib.ones(4, 3, device=dev)",
    "lib.ones(2, requires_grad=True, device=dev) * lib.ones(3, device=dev)",
    "lib.maximum(lib.ones(2, device=dev), lib.ones(3, device=dev))",
    "lib.atan2(lib.ones(2, device=dev), lib.ones(3, device=dev))",
    "lib.where(lib.ones(2, dtype=lib.bool, device=dev), lib.ones(3, device=dev), 0.0)",
    "lib.ones(2, device=dev) < lib.ones(3, device=dev)",
    "lib.eq(lib.ones(2, device=dev), lib.ones(3, device=dev))",
    "lib.ones(2, dtype=lib.int64, device=dev) & lib.ones(3, dtype=lib.int64, device=dev)",
    "lib.ones(2, device=dev).add_(lib.ones(3, device=dev))",
    "lib.ones(2, 3, 4, device=dev) @ lib.ones(5, 4, 6, device=dev)",
]


@pytest.mark.parametrize("call", BROADCAST)
def test_broadcast_failure_is_runtime_error(call, device):
    _same_error(call, device)


def test_broadcast_message_names_the_dimension():
    with pytest.raises(RuntimeError, match=r"^The size of tensor a \(2\) must match the size of "
                                           r"tensor b \(4\) at non-singleton dimension 0$"):
        gt.ones(2) + gt.ones(4)


@pytest.mark.parametrize("call", [
    "lib.div(lib.ones(2), 2, rounding_mode='bad')",
    "lib.tensor([1, 2]) ** -2",
    "lib.tensor(2) ** -1",
    "lib.pow(lib.tensor([1, 2]), -2)",
    "lib.tensor([1, 2]).pow(-3)",
    "lib.tensor([True]) ** -1",
    "lib.linspace(0, 1, 3, dtype=lib.bool)",
    "F.scaled_dot_product_attention(lib.ones(1, 2, 3), lib.ones(1, 2, 3), lib.ones(1, 2, 3), "
    "attn_mask=lib.ones(2, 2, dtype=lib.bool), is_causal=True)",
])
def test_errors_match_torch(call):
    _same_error(call)


@pytest.mark.parametrize("base,exp", [([1, -1, 2, -1, 0, 3], [-2, -3, -1, -2, 3, 0]),
                                      ([2, -2], [-1, -1])])
def test_integer_tensor_to_negative_tensor_power(base, exp, device):
    """NumPy refuses these; torch computes them (1, +-1 for base -1, else 0)."""
    want = torch.tensor(base) ** torch.tensor(exp)
    got = gt.tensor(base, device=device) ** gt.tensor(exp, device=device)
    assert got.tolist() == want.tolist() and got.dtype is gt.int64
    assert (2 ** gt.tensor(exp, device=device)).tolist() == (2 ** torch.tensor(exp)).tolist()


def test_non_broadcast_value_errors_unchanged():
    """Only NumPy's broadcast failure is translated; other errors keep their own type."""
    with pytest.raises(RuntimeError, match="shape mismatch"):
        gt.zeros(3)[gt.tensor([0, 1])] = gt.ones(3)
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied|shapes"):
        gt.ones(2, 3) @ gt.ones(4, 5)
    np.testing.assert_array_equal((gt.ones(2, 1) + gt.ones(3)).numpy(), np.full((2, 3), 2.0))
