"""F.interpolate / nn.Upsample against torch: every mode with align_corners, size and
scale_factor (incl. recompute_scale_factor), 3-D/4-D/5-D inputs, gradients, errors, reprs."""
import warnings

import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op, to_gt

RANK = {"nearest": 4, "nearest-exact": 4, "linear": 3, "bilinear": 4, "bicubic": 4,
        "trilinear": 5, "area": 4}
SPATIAL = (5, 4, 6)
RESIZE = [dict(size=7), dict(size=3), dict(scale_factor=1.7), dict(scale_factor=0.6),
          dict(scale_factor=2), dict(scale_factor=1.7, recompute_scale_factor=True)]


def _input(rng, mode, dtype=np.float32, n=2, c=3):
    return rng.standard_normal((n, c) + SPATIAL[:RANK[mode] - 2]).astype(dtype)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
@pytest.mark.parametrize("resize", RESIZE)
def test_nearest_modes_are_exact(mode, resize, rng):
    for rank in (3, 4, 5):
        xr = rng.standard_normal((2, 3) + SPATIAL[:rank - 2]).astype(np.float32)
        y_t = torch.nn.functional.interpolate(torch.from_numpy(xr), mode=mode, **resize)
        y_g = gt.nn.functional.interpolate(gt.tensor(xr), mode=mode, **resize)
        np.testing.assert_array_equal(y_g.numpy(), y_t.numpy())


@pytest.mark.parametrize("mode", ["linear", "bilinear", "bicubic", "trilinear"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("resize", RESIZE + [dict(scale_factor=(2.3, 0.7, 1.0))])
def test_interpolating_modes_match_torch(mode, align_corners, resize, rng):
    resize = dict(resize)
    if isinstance(resize.get("scale_factor"), tuple):
        resize["scale_factor"] = resize["scale_factor"][:RANK[mode] - 2]
    x = _input(rng, mode)
    # float32: torch's own float32 result is ~1e-6 from the exact one (bicubic: cancelling
    # weights), so agreement is to a few float32 roundings, not bitwise
    tol = 1e-5 if mode == "bicubic" else 2e-6
    check_lib_op(lambda lib, x: lib.nn.functional.interpolate(
        x, mode=mode, align_corners=align_corners, **resize), x, device="cpu", grad=False,
        atol=tol, rtol=1e-6)
    x64 = x.astype(np.float64)
    check_lib_op(lambda lib, x: lib.nn.functional.interpolate(
        x, mode=mode, align_corners=align_corners, **resize), x64[:1, :2], device="cpu",
        atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("mode, kw", [("nearest", dict(scale_factor=1.5)),
                                      ("nearest-exact", dict(size=(2, 5))),
                                      ("bilinear", dict(size=(3, 5), align_corners=False)),
                                      ("bicubic", dict(scale_factor=1.4, align_corners=True)),
                                      ("area", dict(size=(2, 3)))])
def test_interpolate_gradients_on_device(mode, kw, device, rng):
    x = rng.standard_normal((1, 2, 3, 4))
    check_lib_op(lambda lib, x: lib.nn.functional.interpolate(x, mode=mode, **kw), x,
                 device=device)


def test_interpolate_linear_and_trilinear_on_device(device, rng):
    check_lib_op(lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=2.5,
                                                              mode="linear"),
                 rng.standard_normal((1, 2, 3)), device=device)
    check_lib_op(lambda lib, x: lib.nn.functional.interpolate(x, size=(2, 3, 1),
                                                              mode="trilinear",
                                                              align_corners=True),
                 rng.standard_normal((1, 1, 3, 2, 3)), device=device)


def test_interpolate_double_backward(rng):
    x = to_gt(rng.standard_normal((1, 1, 3, 3)), "cpu", True)
    f = gt.nn.functional.interpolate
    assert gt.autograd.gradgradcheck(lambda x: f(x, scale_factor=1.5, mode="bicubic") ** 2, [x])


def test_interpolate_keeps_integer_nearest_and_half(rng):
    x = rng.integers(0, 9, (1, 2, 3, 3))
    y_t = torch.nn.functional.interpolate(torch.from_numpy(x).float(), scale_factor=2)
    y_g = gt.nn.functional.interpolate(gt.tensor(x).float(), scale_factor=2)
    np.testing.assert_array_equal(y_g.numpy(), y_t.numpy())


@pytest.mark.parametrize("exc, call", [
    (ValueError, lambda F, x: F.interpolate(x, size=2, scale_factor=2)),
    (ValueError, lambda F, x: F.interpolate(x)),
    (ValueError, lambda F, x: F.interpolate(x, size=(2, 2, 2))),
    (ValueError, lambda F, x: F.interpolate(x, scale_factor=(2, 2, 2))),
    (ValueError, lambda F, x: F.interpolate(x, size=2, align_corners=True)),
    (ValueError, lambda F, x: F.interpolate(x, size=2, recompute_scale_factor=True)),
    (TypeError, lambda F, x: F.interpolate(x, size=(2.0, 2))),
    (NotImplementedError, lambda F, x: F.interpolate(x, size=2, mode="linear")),
    (NotImplementedError, lambda F, x: F.interpolate(x, size=2, mode="trilinear")),
    (NotImplementedError, lambda F, x: F.interpolate(x, size=2, mode="cubic")),
    (NotImplementedError, lambda F, x: F.interpolate(x[0, 0], size=2)),
    (NotImplementedError, lambda F, x: F.interpolate(x.long(), size=2, mode="bilinear")),
    (NotImplementedError, lambda F, x: F.interpolate(x.long(), size=2)),
    (NotImplementedError, lambda F, x: F.interpolate(x.long(), size=2, mode="bicubic")),
    (NotImplementedError, lambda F, x: F.interpolate(x.long(), size=2, mode="area")),
    (NotImplementedError, lambda F, x: F.interpolate(x[0].long(), size=2, mode="linear")),
    (RuntimeError, lambda F, x: F.interpolate(x[0], scale_factor=0.2)),
    (RuntimeError, lambda F, x: F.interpolate(x, scale_factor=0.2)),
    (ValueError, lambda F, x: F.interpolate(x[0], size=2, mode="bilinear", antialias=True)),
])
def test_interpolate_errors_match_torch(exc, call):
    with pytest.raises(exc) as want:
        call(torch.nn.functional, torch.zeros(1, 2, 3, 3))
    with pytest.raises(exc) as got:
        call(gt.nn.functional, gt.zeros(1, 2, 3, 3))
    assert str(got.value) == str(want.value)


def test_upsample_modules_match_torch(rng):
    x = rng.standard_normal((1, 2, 3, 4)).astype(np.float32)
    for make in (lambda nn: nn.Upsample(scale_factor=2),
                 lambda nn: nn.Upsample(size=(5, 7), mode="bilinear"),
                 lambda nn: nn.Upsample(scale_factor=(1.5, 2), mode="bicubic",
                                        align_corners=True),
                 lambda nn: nn.UpsamplingBilinear2d(scale_factor=2),
                 lambda nn: nn.UpsamplingNearest2d(size=3)):
        m_t, m_g = make(torch.nn), make(gt.nn)
        assert repr(m_g) == repr(m_t)
        np.testing.assert_allclose(m_g(gt.tensor(x)).numpy(), m_t(torch.from_numpy(x)).numpy(),
                                   atol=2e-6)


def test_upsample_aliases_warn_and_match(rng):
    x = rng.standard_normal((1, 1, 3, 3)).astype(np.float32)
    for name, kw in (("upsample", dict(scale_factor=2, mode="bilinear")),
                     ("upsample_nearest", dict(size=5)), ("upsample_bilinear", dict(size=4))):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            y_g = getattr(gt.nn.functional, name)(gt.tensor(x), **kw)
            y_t = getattr(torch.nn.functional, name)(torch.from_numpy(x), **kw)
        assert any("deprecated" in str(r.message) for r in rec)
        np.testing.assert_allclose(y_g.numpy(), y_t.numpy(), atol=2e-6)
