"""F.pad in every mode with positive and negative (cropping) amounts, and the padding layers."""
import numpy as np
import pytest

import gputensor as gt
from helpers import check_lib_op

torch = pytest.importorskip("torch")

MODES = ["constant", "reflect", "replicate", "circular"]
CASES = [
    ((2, 3, 5), (-1, 2)), ((2, 3, 5), (2, -1)), ((2, 3, 5), (-2, -1)), ((2, 3, 5), (3, -1)),
    ((2, 3, 5), (-3, 1)), ((1, 2, 4, 5), (1, -2, -1, 2)), ((1, 2, 4, 5), (-1, -1, 2, -1)),
    ((2, 3, 4), (1, -1, -1, 1)), ((1, 2, 3, 4, 3), (1, -1, -1, 1, 0, -1)),
    ((1, 2, 3, 4), (1, 0, 1, -1, 1, 1)), ((2, 3, 5), (1, 3)),
]


@pytest.mark.parametrize("shape,pads", CASES, ids=[f"{s}-{p}" for s, p in CASES])
@pytest.mark.parametrize("mode", MODES)
def test_pad_against_torch(mode, shape, pads, device, rng):
    if device == "cuda" and len(shape) > 4:
        shape = (1, 1) + shape[3:]  # keep simulated shapes tiny
        pads = pads[:4]
    x = rng.standard_normal(shape).astype(np.float32)
    check_lib_op(lambda lib, x: lib.nn.functional.pad(x, pads, mode=mode), x, device=device)


def test_circular_negative_values():
    """The issue's bug: circular crops first, then wraps around the cropped extent."""
    x = np.arange(5.0, dtype=np.float32).reshape(1, 1, 5)
    for pads, want in (((2, -1), [2, 3, 0, 1, 2, 3]), ((-1, 2), [1, 2, 3, 4, 1, 2]),
                       ((3, -1), [1, 2, 3, 0, 1, 2, 3]), ((-3, 1), [3, 4, 3])):
        got = gt.nn.functional.pad(gt.tensor(x), pads, mode="circular")
        t = torch.nn.functional.pad(torch.tensor(x), pads, mode="circular")
        assert got.flatten().tolist() == t.flatten().tolist() == want


def test_pad_value_and_integer_dtype():
    a = np.arange(6).reshape(1, 2, 3)
    for mode in MODES:
        g = gt.nn.functional.pad(gt.tensor(a), (2, -1), mode=mode)
        t = torch.nn.functional.pad(torch.tensor(a), (2, -1), mode=mode)
        assert g.dtype == gt.int64 and g.tolist() == t.tolist()
    g = gt.nn.functional.pad(gt.tensor(a), (1, 1), value=7)
    assert g.tolist() == torch.nn.functional.pad(torch.tensor(a), (1, 1), value=7).tolist()


ERRORS = [
    ((2, 5), (1, 1, 1), "constant", RuntimeError, "Padding length must be divisible by 2"),
    ((5,), (1, 1, 1, 1), "constant", RuntimeError, "Padding length should be less than or "
     "equal to two times the input dimension"),
    ((2, 3, 5), (-6, 1), "constant", RuntimeError, r"narrow\(\): length must be non-negative"),
    ((2, 3, 5), (5, 0), "reflect", RuntimeError, "Padding size should be less than the "
     "corresponding input dimension"),
    ((1, 1, 4, 5), (0, 0, 4, 0), "reflect", RuntimeError, r"padding \(4, 0\) at dimension 2"),
    ((2, 3, 5), (-3, -3), "reflect", RuntimeError, r"input \(W: 5\) is too small"),
    ((2, 3, 5), (-3, -3), "replicate", RuntimeError, "Calculated output W: -1"),
    ((2, 3, 5), (6, 0), "circular", RuntimeError, "wrapping around more than once"),
    ((2, 3, 5), (-3, -3), "circular", RuntimeError, "resulting in an empty dimension"),
    ((5,), (1, 1), "reflect", NotImplementedError, "Padding size 2 is not supported for 1D"),
    ((1, 1, 2, 5), (1, 1), "replicate", NotImplementedError, "not supported for 4D input"),
    ((2, 5), (1, 1), "bogus", NotImplementedError, "Unrecognised padding mode bogus"),
]


@pytest.mark.parametrize("shape,pads,mode,exc,msg", ERRORS)
def test_pad_errors_as_torch(shape, pads, mode, exc, msg):
    for lib in (torch, gt):
        with pytest.raises(exc, match=msg):
            lib.nn.functional.pad(lib.zeros(shape), pads, mode=mode)
    for lib in (torch, gt):
        with pytest.raises(RuntimeError, match="doesn't take in value argument"):
            lib.nn.functional.pad(lib.zeros(2, 5), (1, 1), mode="reflect", value=2.0)


LAYERS = [
    ("ZeroPad1d", ((1, -1),), (2, 3, 5)), ("ZeroPad2d", (1,), (1, 2, 3, 4)),
    ("ZeroPad3d", ((1, 0, -1, 1, 0, 1),), (1, 1, 2, 3, 3)),
    ("ConstantPad1d", ((1, 2), 3.5), (2, 3)), ("ConstantPad2d", (1, -2.0), (1, 2, 3)),
    ("ConstantPad3d", (1, 0.5), (1, 2, 2, 2)),
    ("ReflectionPad1d", (2,), (2, 3, 5)), ("ReflectionPad2d", ((1, -1, 2, 0),), (1, 2, 3, 4)),
    ("ReflectionPad3d", (1,), (1, 2, 2, 3, 3)),
    ("ReplicationPad1d", ((3, -1),), (2, 5)), ("ReplicationPad2d", (2,), (1, 2, 3, 4)),
    ("ReplicationPad3d", (1,), (1, 2, 3, 3)),
    ("CircularPad1d", ((2, -1),), (2, 3, 5)), ("CircularPad2d", (1,), (1, 2, 3, 4)),
    ("CircularPad3d", (1,), (1, 2, 2, 3, 3)),
]


@pytest.mark.parametrize("name,args,shape", LAYERS, ids=[la[0] for la in LAYERS])
def test_padding_layers(name, args, shape, rng):
    import gputensor.nn.modules.padding as P
    x = rng.standard_normal(shape).astype(np.float32)
    g, t = getattr(P, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(g) == repr(t)
    np.testing.assert_allclose(g(gt.tensor(x)).numpy(), t(torch.tensor(x)).numpy())


def test_circular_layer_checks_dims():
    for lib in (torch, gt):
        with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 2D input\)"):
            lib.nn.CircularPad2d(1)(lib.zeros(3, 4))
