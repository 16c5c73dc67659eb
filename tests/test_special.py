"""torch.special and the special pointwise ops against torch: values, dtypes, gradients (and
float64 gradcheck), edge values and errors."""
import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op, compare_torch, to_gt, to_np

POS = np.array([0.3, 1.7, 2.5, 4.1, 7.0], np.float32)
ANY = np.array([-2.3, -0.7, 0.4, 1.1, 3.2], np.float32)
UNIT = np.array([0.1, 0.35, 0.5, 0.75, 0.93], np.float32)

UNARY = [  # (name, function of lib and x, input)
    ("lgamma", lambda lib, x: lib.lgamma(x), POS),
    ("gammaln", lambda lib, x: lib.special.gammaln(x), ANY),
    ("digamma", lambda lib, x: lib.digamma(x), POS),
    ("psi", lambda lib, x: lib.special.psi(x), ANY),
    ("polygamma1", lambda lib, x: lib.polygamma(1, x), POS),
    ("polygamma2", lambda lib, x: lib.special.polygamma(2, x), POS),
    ("polygamma_method", lambda lib, x: x.polygamma(3), POS),
    ("mvlgamma", lambda lib, x: lib.mvlgamma(x + 2, p=3), POS),
    ("multigammaln", lambda lib, x: lib.special.multigammaln(x + 1, 2), POS),
    ("i0", lambda lib, x: lib.i0(x), ANY),
    ("i0e", lambda lib, x: lib.special.i0e(x), ANY),
    ("i1", lambda lib, x: lib.special.i1(x), ANY),
    ("i1e", lambda lib, x: lib.special.i1e(x), ANY),
    ("sinc", lambda lib, x: lib.sinc(x), ANY),
    ("deg2rad", lambda lib, x: lib.deg2rad(x), ANY),
    ("rad2deg", lambda lib, x: x.rad2deg(), ANY),
    ("erfcx", lambda lib, x: lib.special.erfcx(x), ANY),
    ("ndtr", lambda lib, x: lib.special.ndtr(x), ANY),
    ("ndtri", lambda lib, x: lib.special.ndtri(x), UNIT),
    ("log_ndtr", lambda lib, x: lib.special.log_ndtr(x), ANY),
    ("entr", lambda lib, x: lib.special.entr(x), POS),
    ("expit", lambda lib, x: lib.special.expit(x), ANY),
    ("logit", lambda lib, x: lib.logit(x), UNIT),
    ("logit_eps", lambda lib, x: lib.special.logit(x, eps=0.2), UNIT),
    ("erf", lambda lib, x: lib.special.erf(x), ANY),
    ("erfinv", lambda lib, x: lib.special.erfinv(x), UNIT),
    ("exp2", lambda lib, x: lib.special.exp2(x), ANY),
    ("expm1", lambda lib, x: lib.special.expm1(x), ANY),
    ("log1p", lambda lib, x: lib.special.log1p(x), POS),
    ("logsumexp", lambda lib, x: lib.special.logsumexp(x, 0), ANY),
    ("softmax", lambda lib, x: lib.special.softmax(x, 0), ANY),
    ("log_softmax", lambda lib, x: lib.special.log_softmax(x, 0), ANY),
    ("angle", lambda lib, x: lib.angle(x).detach(), ANY),
    ("sgn", lambda lib, x: lib.sgn(x).detach(), ANY),
]


@pytest.mark.parametrize("name,f,x", UNARY, ids=[u[0] for u in UNARY])
def test_unary_cpu(name, f, x):
    check_lib_op(f, x, device="cpu")
    check_lib_op(f, x.astype(np.float64), device="cpu", grad=False, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("name", ["lgamma", "polygamma1", "i1e", "sinc", "log_ndtr", "logit"])
def test_unary_cuda(name):
    _, f, x = next(u for u in UNARY if u[0] == name)
    check_lib_op(f, x, device="cuda")


NOGRAD = ("bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
          "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
          "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0")


def test_nondifferentiable_bessel(device):
    for name in NOGRAD:
        x = POS if "k" in name or "y" in name else ANY
        f = lambda lib, x: getattr(lib.special, name)(x)  # noqa: E731
        compare_torch(lambda a: f(gt, a), x, device=device, torch_fn=lambda a: f(torch, a),
                      grad=False)
        out = getattr(gt.special, name)(to_gt(x, device, requires_grad=True))
        assert not out.requires_grad, name


def test_zeta():
    x, q = np.array([2.0, 3.0, 4.5]), np.array([1.0, 2.0, 0.7])
    check_lib_op(lambda lib, a: lib.special.zeta(lib.tensor(x), a), q, device="cpu")
    check_lib_op(lambda lib, a: lib.special.zeta(2.0, a), q, device="cpu")
    np.testing.assert_allclose(to_np(gt.special.zeta(gt.tensor(q), 1.0)),
                               torch.special.zeta(torch.tensor(q), 1.0).numpy())


def test_edge_values():
    x = np.array([0.0, -0.0, -1.0, -2.5, 1e-30, np.inf, np.nan], np.float32)
    for f in (lambda lib, t: lib.digamma(t), lambda lib, t: lib.lgamma(t),
              lambda lib, t: lib.special.entr(t), lambda lib, t: lib.logit(t),
              lambda lib, t: lib.sinc(t), lambda lib, t: lib.special.i1(t),
              lambda lib, t: lib.special.log_ndtr(t), lambda lib, t: lib.angle(t)):
        np.testing.assert_allclose(to_np(f(gt, gt.tensor(x))), f(torch, torch.tensor(x)).numpy(),
                                   rtol=1e-6)


def test_integer_inputs_promote():
    i = np.array([1, 2, 3])
    for f in (lambda lib, t: lib.lgamma(t), lambda lib, t: lib.i0(t), lambda lib, t: lib.sinc(t),
              lambda lib, t: lib.deg2rad(t), lambda lib, t: lib.angle(t),
              lambda lib, t: lib.polygamma(1, t), lambda lib, t: lib.float_power(t, 2),
              lambda lib, t: lib.xlogy(t, t), lambda lib, t: lib.ldexp(t, t)):
        g, t = f(gt, gt.tensor(i)), f(torch, torch.tensor(i))
        assert g.dtype.name == str(t.dtype).replace("torch.", "")
        np.testing.assert_allclose(to_np(g), t.numpy(), rtol=1e-6)


BINARY = [
    ("xlogy", lambda lib, x, y: lib.xlogy(x, y)),
    ("special_xlogy", lambda lib, x, y: lib.special.xlogy(x, y)),
    ("xlog1py", lambda lib, x, y: lib.special.xlog1py(x, y)),
    ("logaddexp2", lambda lib, x, y: lib.logaddexp2(x, y)),
    ("float_power", lambda lib, x, y: lib.float_power(x + 0.1, y)),
    ("igamma", lambda lib, x, y: lib.igamma(lib.full_like(y, 1.7), y) * x),
    ("igammac", lambda lib, x, y: lib.special.gammaincc(lib.full_like(y, 0.6), y) * x),
]


@pytest.mark.parametrize("device,name,f",
                         [("cpu",) + b for b in BINARY]
                         + [("cuda",) + b for b in BINARY if b[0] in ("xlogy", "igamma")],
                         ids=[f"cpu-{b[0]}" for b in BINARY]
                         + [f"cuda-{b[0]}" for b in BINARY if b[0] in ("xlogy", "igamma")])
def test_binary(device, rng, name, f):
    x = rng.uniform(0.5, 3.0, (3, 4)).astype(np.float32)
    y = rng.uniform(0.5, 3.0, (4,)).astype(np.float32)
    x[0, 1] = 0.0
    check_lib_op(f, x, y, device=device)


def test_angle_sgn_grad_zero(device):
    x = to_gt(ANY, device, requires_grad=True)
    (gt.angle(x) + gt.sgn(x)).sum().backward()
    assert not to_np(x.grad).any()


def test_xlogy_zero_and_scalars():
    x = torch.tensor([0.0, 0.0, 2.0])
    y = torch.tensor([0.0, np.nan, 3.0])
    g = gt.xlogy(gt.tensor(x.numpy()), gt.tensor(y.numpy()))
    np.testing.assert_array_equal(to_np(g), torch.xlogy(x, y).numpy())
    assert gt.xlogy(2, gt.tensor([3.0])).dtype == gt.float32
    np.testing.assert_allclose(to_np(gt.xlogy(gt.tensor([3.0]), 2)), torch.xlogy(
        torch.tensor([3.0]), 2).numpy())


def test_igamma_input_grad_raises():
    a = gt.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match="the derivative for 'igamma: input' is not "
                       "implemented."):
        gt.igamma(a, gt.tensor([1.0, 2.0])).sum().backward()


def test_ldexp_frexp(device):
    x = np.array([8.0, 3.0, -0.75, 0.0], np.float32)
    g, t = gt.frexp(to_gt(x, device)), torch.frexp(torch.tensor(x))
    np.testing.assert_array_equal(to_np(g.mantissa), t.mantissa.numpy())
    np.testing.assert_array_equal(to_np(g.exponent), t.exponent.numpy())
    assert g.exponent.dtype == gt.int32
    check_lib_op(lambda lib, a: lib.ldexp(a, lib.tensor([1, 2, 3, 4], device=a.device)), x,
                 device=device)


def test_integer_ops(device):
    a, b = np.array([4, 6, -9, 0]), np.array([6, 9, 6, 5])
    for f in (lambda lib, x, y: lib.gcd(x, y), lambda lib, x, y: lib.lcm(x, y)):
        compare_torch(lambda x, y: f(gt, x, y), a, b, device=device,
                      torch_fn=lambda x, y: f(torch, x, y), grad=False)
    with pytest.raises(NotImplementedError, match="\"gcd_cpu\" not implemented for 'Float'"):
        gt.gcd(gt.tensor([1.0]), gt.tensor([1.0]))


def test_heaviside_nextafter_isin_real(device):
    x = np.array([-1.0, 0.0, 2.0], np.float32)
    v = np.array([0.5], np.float32)
    compare_torch(lambda a, b: gt.heaviside(a, b), x, v, device=device,
                  torch_fn=torch.heaviside, grad=False)
    with pytest.raises(RuntimeError, match="heaviside is not yet implemented for tensors with "
                       "different dtypes."):
        gt.heaviside(to_gt(x, device), to_gt(np.array([1]), device))
    y = np.array([0.0, 1.0, -5.0], np.float32)
    compare_torch(lambda a, b: gt.nextafter(a, b), x, y, device=device,
                  torch_fn=torch.nextafter, grad=False)
    e, t = np.array([1, 2, 3, 2]), np.array([2, 5])
    compare_torch(lambda a, b: gt.isin(a, b), e, t, device=device, torch_fn=torch.isin,
                  grad=False)
    compare_torch(lambda a, b: gt.isin(a, b, invert=True), e, t, device=device,
                  torch_fn=lambda a, b: torch.isin(a, b, invert=True), grad=False)
    assert bool(gt.isin(3, to_gt(e, device)))
    r = to_gt(x, device)
    assert gt.real(r) is r and bool(gt.isreal(r).all())
    with pytest.raises(RuntimeError, match="imag is not implemented for tensors with "
                       "non-complex dtypes."):
        gt.imag(r)


def test_special_namespace_complete():
    names = ("erf erfc erfinv erfcx expit logit xlogy xlog1py exp2 expm1 log1p gammaln digamma "
             "psi polygamma multigammaln i0 i0e i1 i1e ndtr ndtri log_ndtr sinc entr logsumexp "
             "softmax log_softmax round bessel_j0 bessel_j1 gammainc gammaincc zeta").split()
    names += list(NOGRAD)
    missing = [n for n in names if not hasattr(gt.special, n)]
    assert not missing and all(hasattr(torch.special, n) for n in names)
    assert not any(n.startswith("special_") for n in dir(gt.Tensor))


def test_inplace_variants():
    x = np.array([0.3, 1.7, 2.5], np.float32)
    for name, args in (("lgamma_", ()), ("digamma_", ()), ("i0_", ()), ("sinc_", ()),
                       ("logit_", ()), ("polygamma_", (2,)), ("mvlgamma_", (1,)),
                       ("xlogy_", (2.0,)), ("igamma_", (x[::-1].copy(),)),
                       ("igammac_", (x[::-1].copy(),))):
        g, t = gt.tensor(x), torch.tensor(x)
        gargs = [gt.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        targs = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        gr, tr = getattr(g, name)(*gargs), getattr(t, name)(*targs)
        assert gr is g
        np.testing.assert_allclose(to_np(g), t.numpy(), rtol=1e-5, err_msg=name)
    leaf = gt.tensor(x, requires_grad=True)
    y = leaf * 1
    y.lgamma_().sum().backward()
    tl = torch.tensor(x, requires_grad=True)
    (tl * 1).lgamma_().sum().backward()
    np.testing.assert_allclose(to_np(leaf.grad), tl.grad.numpy(), rtol=1e-5)
