"""Bad inputs, part 2 (issue 9): in-place writes through overlapping or expanded memory, and
the sweep that keeps NumPy's RuntimeWarnings from reaching users.

Overlap cases run the same call in torch and gputensor (cpu and simulated cuda): both must
raise the same type with torch's message, or both must succeed with equal results. The sweep
runs ~100 edge-value calls (zeros, inf, nan, empty, singular) forward and backward under
``RuntimeWarning`` = error and compares with torch.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gputensor as gt

INTERNAL = "more than one element of the written-to tensor refers to a single memory location"
PARTIAL = "some elements of the input tensor and the written-to tensor refer to a single memory"


def _values(r) -> list:
    if isinstance(r, (tuple, list)):
        return [v for x in r for v in _values(x)]
    return [np.asarray(r.detach().cpu().numpy()) if hasattr(r, "detach") else np.asarray(r)]


def _same_values(got, want) -> None:
    g, w = _values(got), _values(want)
    assert len(g) == len(w)
    for a, b in zip(g, w):
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=1e-4,
                                   atol=1e-5, equal_nan=True)


def _same_outcome(fn, device: str) -> None:
    """``fn(lib, device)`` returns the value to compare; a raise must match torch's."""
    try:
        want = fn(torch, "cpu")
    except Exception as e:  # noqa: BLE001 - any torch failure is the oracle
        with pytest.raises(type(e)) as got:
            fn(gt, device)
        assert str(e) in str(got.value), f"{got.value!r} vs torch {e!r}"
        return
    _same_values(fn(gt, device), want)


def _a(L, d):
    return L.arange(6.0).to(d)


def _e(L, d):
    return L.zeros(1, 4).to(d).expand(3, 4)


def _then(f):
    """Run an in-place ``f(a)`` on ``a = arange(6)`` and return ``a``."""
    return lambda L, d: (lambda a: (f(L, a), a)[1])(_a(L, d))


def _bool(L, d, *shape):
    return L.ones(*shape, dtype=L.bool).to(d)


OVERLAP_CASES = {
    # partial overlap of an input with the written-to tensor: refused
    "copy_shift": _then(lambda L, a: a[1:].copy_(a[:-1])),
    "copy_shift_back": _then(lambda L, a: a[:-1].copy_(a[1:])),
    "copy_transposed": lambda L, d: (lambda m: m.copy_(m.t()))(L.arange(9.0).to(d).reshape(3, 3)),
    "copy_rows": lambda L, d: (lambda m: m[1:].copy_(m[:-1]))(L.arange(9.0).to(d).reshape(3, 3)),
    "add_shift": _then(lambda L, a: a[1:].add_(a[:-1])),
    "iadd_shift": _then(lambda L, a: a[1:].__iadd__(a[:-1])),
    "pow_shift": _then(lambda L, a: a[1:].pow_(a[:-1])),
    "atan2_shift": _then(lambda L, a: a[1:].atan2_(a[:-1])),
    "addcmul_shift": _then(lambda L, a: a[1:].addcmul_(a[:-1], a[:-1])),
    "lerp_weight_shift": _then(lambda L, a: a[:3].lerp_(L.zeros(3).to(a.device), a[1:4])),
    "clamp_tensor_shift": _then(lambda L, a: a[:-1].clamp_(max=a[1:])),
    "lt_shift": _then(lambda L, a: a[1:].lt_(a[:-1])),
    "setitem_slice": _then(lambda L, a: a.__setitem__(slice(1, None), a[:-1])),
    "setitem_index": _then(lambda L, a: a.__setitem__(L.tensor([1, 2]).to(a.device), a[:2])),
    "setitem_index_alias": _then(lambda L, a: a.__setitem__(L.arange(6).to(a.device), a)),
    "index_put_alias": _then(lambda L, a: a.index_put_((L.arange(6).to(a.device),), a)),
    "index_copy_shift": _then(lambda L, a: a[1:].index_copy_(0, L.tensor([0, 1]).to(a.device),
                                                             a[:2])),
    "index_add_alias": _then(lambda L, a: a.index_add_(0, L.arange(6).to(a.device), a)),
    "scatter_shift": _then(lambda L, a: a[1:].scatter_(0, L.tensor([0, 1]).to(a.device), a[:2])),
    "scatter_reduce_alias": _then(lambda L, a: a.scatter_reduce_(0, L.arange(6).to(a.device), a,
                                                                 "sum")),
    "put_alias": _then(lambda L, a: a.put_(L.arange(6).to(a.device), a)),
    "add_out_shift": lambda L, d: (lambda a: L.add(a[:-1], 1, out=a[1:]))(_a(L, d)),
    "sub_out_shift": lambda L, d: (lambda a: L.sub(a[1:], a[:-1], out=a[:-1]))(_a(L, d)),
    "sin_out_shift": lambda L, d: (lambda a: L.sin(a[1:], out=a[:-1]))(_a(L, d)),
    # allowed: exact aliasing, disjoint views of one base, layouts torch does not judge
    "copy_self": _then(lambda L, a: a.copy_(a)),
    "copy_same_view": _then(lambda L, a: a[:3].copy_(a[:3])),
    "copy_disjoint": _then(lambda L, a: a[:3].copy_(a[3:])),
    "copy_strided_disjoint": _then(lambda L, a: a[::2].copy_(a[1::2])),
    "copy_from_other_dtype": _then(lambda L, a: a[1:].copy_(a[:-1].double())),
    "copy_from_expanded_element": _then(lambda L, a: a[1:].copy_(a[0].expand(5))),
    "add_self": _then(lambda L, a: a.add_(a)),
    "mul_self": _then(lambda L, a: a.mul_(a)),
    "add_disjoint": _then(lambda L, a: a[:3].add_(a[3:])),
    "add_expanded_of_self": _then(lambda L, a: a.add_(a[:1].expand(6))),
    "fill_from_own_element": _then(lambda L, a: a[1:].fill_(a[0])),
    "masked_fill_own_element": _then(lambda L, a: a.masked_fill_(a > 2, a[0])),
    "setitem_mask_own_element": _then(lambda L, a: a.__setitem__(a > 2, a[1])),
    "setitem_own_element": _then(lambda L, a: a.__setitem__(0, a[1])),
    "setitem_ellipsis_self": _then(lambda L, a: a.__setitem__(Ellipsis, a)),
    "mul_out_self": lambda L, d: (lambda a: L.mul(a, a, out=a))(_a(L, d)),
    "addmm_alias": lambda L, d: (lambda m: m.addmm_(m, m))(L.arange(9.0).to(d).reshape(3, 3)),
    # writes into an expanded (stride-0) tensor
    "expand_add_": lambda L, d: _e(L, d).add_(1),
    "expand_iadd": lambda L, d: _e(L, d).__iadd__(1),
    "expand_neg_": lambda L, d: _e(L, d).neg_(),
    "expand_exp_": lambda L, d: _e(L, d).exp_(),
    "expand_clamp_": lambda L, d: _e(L, d).clamp_(0, 1),
    "expand_relu_": lambda L, d: _e(L, d).relu_(),
    "expand_F_relu": lambda L, d: L.nn.functional.relu(_e(L, d), inplace=True),
    "expand_F_hardtanh": lambda L, d: L.nn.functional.hardtanh(_e(L, d), inplace=True),
    "expand_copy_": lambda L, d: _e(L, d).copy_(L.ones(3, 4).to(d)),
    "expand_copy_bcast": lambda L, d: _e(L, d).copy_(L.ones(4).to(d)),
    "expand_copy_same_expand": lambda L, d: (lambda b: b.expand(3, 4).copy_(b.expand(3, 4)))(
        L.arange(4.0).to(d)),
    "expand_fill_tensor": lambda L, d: _e(L, d).fill_(L.tensor(2.0).to(d)),
    "expand_uniform_": lambda L, d: _e(L, d).uniform_(),
    "expand_normal_": lambda L, d: _e(L, d).normal_(),
    "expand_index_add_": lambda L, d: _e(L, d).index_add_(0, L.tensor([0]).to(d),
                                                          L.ones(1, 4).to(d)),
    "expand_scatter_": lambda L, d: _e(L, d).scatter_(0, L.tensor([[0, 0, 0, 0]]).to(d), 1.0),
    "expand_index_copy_": lambda L, d: _e(L, d).index_copy_(0, L.tensor([0]).to(d),
                                                            L.ones(1, 4).to(d)),
    "expand_masked_scatter_": lambda L, d: _e(L, d).masked_scatter_(_bool(L, d, 3, 4),
                                                                    L.ones(3, 4).to(d)),
    "expand_cumsum_": lambda L, d: _e(L, d).cumsum_(1),
    "expand_setitem_slice": lambda L, d: _e(L, d).__setitem__(slice(None), 1.0),
    "expand_setitem_column": lambda L, d: _e(L, d).__setitem__((slice(None), 0), 1.0),
    "expand_add_out": lambda L, d: L.add(L.ones(3, 4).to(d), 1, out=_e(L, d)),
    "expand_mm_out": lambda L, d: L.mm(L.ones(3, 2).to(d), L.ones(2, 4).to(d), out=_e(L, d)),
    "expand_fill_": lambda L, d: _e(L, d).fill_(1),
    "expand_zero_": lambda L, d: _e(L, d).zero_(),
    "expand_fill_diagonal_": lambda L, d: L.zeros(1, 3).to(d).expand(2, 3).fill_diagonal_(1.0),
    "expand_dropout_inplace_p0": lambda L, d: L.nn.functional.dropout(_e(L, d), 0.0, inplace=True),
    "expand_setitem_row": lambda L, d: (lambda e: (e.__setitem__(0, 1.0), e)[1])(_e(L, d)),
    "expand_setitem_element": lambda L, d: (lambda e: (e.__setitem__((0, 1), L.tensor(5.0).to(d)),
                                                       e)[1])(_e(L, d)),
    "expand_row_view_exp_": lambda L, d: L.zeros(3).to(d).expand(2, 3)[0].exp_(),
    "expand_size_one": lambda L, d: L.zeros(1, 4).to(d).expand(1, 4).add_(1),
    "expand_empty": lambda L, d: L.zeros(1, 0).to(d).expand(3, 0).add_(1),
}


@pytest.mark.parametrize("case", sorted(OVERLAP_CASES))
def test_overlapping_writes_match_torch(case, device):
    _same_outcome(OVERLAP_CASES[case], device)


def test_overlap_messages_are_torchs():
    with pytest.raises(RuntimeError, match=PARTIAL):
        a = gt.arange(6.0)
        a[1:].copy_(a[:-1])
    with pytest.raises(RuntimeError, match=INTERNAL):
        gt.zeros(1, 4).expand(3, 4).add_(1)


EXPANDED_FILLS = {
    "index_put_": lambda L, d: _e(L, d).index_put_((L.tensor([0]).to(d),), L.tensor(1.0).to(d)),
    "index_put_acc": lambda L, d: _e(L, d).index_put_((L.tensor([0]).to(d),),
                                                      L.tensor(1.0).to(d), accumulate=True),
    "masked_fill_": lambda L, d: _e(L, d).masked_fill_(_bool(L, d, 3, 4), 1.0),
    "masked_fill_one": lambda L, d: _e(L, d).masked_fill_(
        L.tensor([[True, False, False, False]] + [[False] * 4] * 2).to(d), 1.0),
    "index_fill_": lambda L, d: _e(L, d).index_fill_(1, L.tensor([0]).to(d), 1.0),
    "setitem_index": lambda L, d: (lambda e: (e.__setitem__(L.tensor([0]).to(d), 1.0), e)[1])(
        _e(L, d)),
    "setitem_index_tensor": lambda L, d: (lambda e: (e.__setitem__(
        L.tensor([0]).to(d), L.ones(4).to(d)), e)[1])(_e(L, d)),
}


@pytest.mark.parametrize("case", sorted(EXPANDED_FILLS))
def test_fills_into_expanded_tensors_write_and_warn_as_torch(case, device):
    """torch still lets index_put_/masked_fill_/index_fill_ write an expanded tensor (every
    element sharing a written location shows the value), with a deprecation UserWarning."""
    with warnings.catch_warnings(record=True) as tw:
        warnings.simplefilter("always")
        want = EXPANDED_FILLS[case](torch, "cpu")
    with warnings.catch_warnings(record=True) as gw:
        warnings.simplefilter("always")
        got = EXPANDED_FILLS[case](gt, device)
    _same_values(got, want)
    t = {str(w.message).split(" (Triggered")[0] for w in tw if w.category is UserWarning}
    g = {str(w.message) for w in gw if w.category is UserWarning}
    assert t and t <= g, (t, g)


def test_grad_path_of_setitem_into_expanded_row_is_checked():
    w = gt.ones(4, requires_grad=True)
    x = gt.zeros(1, 4).expand(3, 4).clone()
    x[0] = w * 2  # a plain tensor: fine
    x.sum().backward()
    assert w.grad.tolist() == [2.0] * 4
    e = gt.zeros(1, 4).expand(3, 4)
    with pytest.raises(RuntimeError, match=INTERNAL):
        e[:] = w


def test_overlap_check_is_cheap_for_unrelated_tensors():
    import timeit
    a, b = gt.ones(8), gt.ones(8)
    per = min(timeit.repeat(lambda: a.add_(b), number=2000, repeat=3)) / 2000
    assert per < 2e-4, f"add_ took {per * 1e6:.1f} us"


# -- the NumPy warnings sweep ---------------------------------------------------------------------

INF, NAN = float("inf"), float("nan")


def _F(L):
    return L.nn.functional


def _g(L, fn, vals, *more):
    """``fn``'s value at ``vals`` (and ``more``) and the gradients of its sum."""
    x = L.tensor(vals, requires_grad=True)
    others = [L.tensor(v, requires_grad=True) for v in more]
    out = fn(x, *others)
    out.sum().backward()
    return (out.detach(), x.grad, *[o.grad for o in others])


def _opt(L, name: str, **kw):
    """Two steps of optimizer ``name`` with zero gradients."""
    p = L.nn.Parameter(L.tensor([1.0, 0.0, -1.0]))
    opt = getattr(L.optim, name)([p], **kw)
    for _ in range(2):
        opt.zero_grad()
        (p * 0).sum().backward()
        opt.step()
    return p.detach()


Z3 = [0.0, 0.0, 0.0]
E = [0.0, 1.0, -1.0, INF, -INF, NAN]
SWEEP = {
    # pow and its backward at a zero base
    "pow_zero_neg": lambda L: L.zeros(3) ** -2,
    "pow_half_grad": lambda L: _g(L, lambda x: x ** 0.5, Z3),
    "pow_zero_exp_grad": lambda L: _g(L, lambda x: x ** 0, Z3),
    "pow_neg_exp_grad": lambda L: _g(L, lambda x: x ** -1.5, Z3),
    "pow_tensor_grad": lambda L: _g(L, lambda x, y: x ** y, Z3, [0.0, 1.0, -1.0]),
    "rpow_zero_grad": lambda L: _g(L, lambda x: 0.0 ** x, [0.0, 1.0, -1.0]),
    "log_grad": lambda L: _g(L, L.log, E),
    "log2_grad": lambda L: _g(L, L.log2, E),
    "log10_grad": lambda L: _g(L, L.log10, E),
    "log1p_grad": lambda L: _g(L, L.log1p, [-1.0, -2.0, 0.0]),
    "sqrt_grad": lambda L: _g(L, L.sqrt, E),
    "rsqrt_grad": lambda L: _g(L, L.rsqrt, E),
    "reciprocal_grad": lambda L: _g(L, L.reciprocal, E),
    "div0_grad": lambda L: _g(L, lambda x, y: x / y, [0.0, 1.0, -1.0], Z3),
    "atan2_grad": lambda L: _g(L, L.atan2, Z3, Z3),
    "hypot_grad": lambda L: _g(L, L.hypot, Z3, Z3),
    "acos_grad": lambda L: _g(L, L.acos, [1.0, -1.0, 2.0]),
    "asin_grad": lambda L: _g(L, L.asin, [1.0, -1.0, 2.0]),
    "exp_inf_grad": lambda L: _g(L, L.exp, [1000.0, -INF, NAN]),
    "tanh_grad": lambda L: _g(L, L.tanh, E),
    "sigmoid_grad": lambda L: _g(L, L.sigmoid, [-1000.0, 1000.0, NAN]),
    "erfinv_grad": lambda L: _g(L, L.erfinv, [1.0, -1.0, 0.0]),
    "lgamma_grad": lambda L: _g(L, L.lgamma, [0.0, -1.0, 1.0]),
    "xlogy_grad": lambda L: _g(L, L.xlogy, Z3, Z3),
    "sinc_grad": lambda L: _g(L, L.sinc, Z3),
    "abs_sgn_grad": lambda L: _g(L, lambda x: x.abs() + x.sgn(), [0.0, NAN, -INF]),
    "prod_zero_grad": lambda L: _g(L, lambda x: x.prod(), [0.0, 2.0, 3.0]),
    "prod_two_zero_grad": lambda L: _g(L, lambda x: x.prod(), [0.0, 0.0, 3.0]),
    "cumprod_zero_grad": lambda L: _g(L, lambda x: x.cumprod(0), [2.0, 0.0, 3.0]),
    "logsumexp_neginf_grad": lambda L: _g(L, lambda x: L.logsumexp(x, 0), [-INF, -INF]),
    "amax_nan_grad": lambda L: _g(L, lambda x: x.amax(), [1.0, NAN, 1.0]),
    # casts of non-finite values to integers
    "long_cast": lambda L: L.tensor([INF, -INF, NAN, 1e30]).long(),
    "int32_cast": lambda L: L.tensor([INF, -INF, NAN, 1e30]).to(L.int32),
    "int16_cast": lambda L: L.tensor([1e6, -1e6]).short(),
    "half_cast": lambda L: L.tensor([1e6, -1e6]).half().float(),
    "bool_cast_nan": lambda L: L.tensor([NAN, 0.0]).bool(),
    "item_nan": lambda L: L.tensor(L.tensor(NAN).item()),
    "cmp_nan": lambda L: (L.tensor(E) < NAN, L.tensor(E) == L.tensor(E), L.tensor(E).isnan()),
    "max_nan": lambda L: (L.tensor(E).max(), L.maximum(L.tensor(E), L.zeros(6))),
    "clamp_nan": lambda L: L.tensor(E).clamp(-1, 1),
    # reductions of empty and one-element tensors
    "mean_empty": lambda L: L.zeros(0).mean(),
    "sum_prod_empty": lambda L: (L.zeros(0).sum(), L.zeros(0).prod()),
    "std_empty": lambda L: L.zeros(0).std(),
    "var_empty_dim": lambda L: L.zeros(0, 2).var(0),
    "std_one": lambda L: L.ones(1).std(),
    "var_one_dim": lambda L: L.ones(1, 3).var(0),
    "std_mean_one": lambda L: L.std_mean(L.ones(1)),
    "max_empty": lambda L: L.zeros(0).max(),
    "amax_empty": lambda L: L.zeros(0).amax(),
    "argmax_empty": lambda L: L.zeros(0).argmax(),
    "median_empty": lambda L: L.zeros(0).median(),
    "logsumexp_empty": lambda L: L.logsumexp(L.zeros(0), 0),
    "mean_empty_grad": lambda L: _g(L, lambda x: x[:0].mean(), Z3),
    "var_const_grad": lambda L: _g(L, lambda x: x.var(), [1.0, 1.0, 1.0]),
    "std_const_grad": lambda L: _g(L, lambda x: x.std(), [1.0, 1.0, 1.0]),
    # norms and distances at zero
    "norm_zero_grad": lambda L: _g(L, lambda x: x.norm(), Z3),
    "vector_norm_inf_grad": lambda L: _g(L, lambda x: L.linalg.vector_norm(x, INF), Z3),
    "vector_norm_p3_grad": lambda L: _g(L, lambda x: L.linalg.vector_norm(x, 3), Z3),
    "dist_zero_grad": lambda L: _g(L, lambda x, y: L.dist(x, y), Z3, Z3),
    "cdist_zero_grad": lambda L: _g(L, lambda x, y: L.cdist(x, y), [[0.0, 0.0]], [[0.0, 0.0]]),
    "pdist_zero_grad": lambda L: _g(L, lambda x: _F(L).pdist(x), [[1.0, 2.0], [1.0, 2.0]]),
    "normalize_zero_grad": lambda L: _g(L, lambda x: _F(L).normalize(x, dim=0), Z3),
    "cosine_sim_zero_grad": lambda L: _g(L, lambda x, y: _F(L).cosine_similarity(x, y, dim=0),
                                         Z3, Z3),
    "matrix_norm_zero_grad": lambda L: _g(L, lambda x: L.linalg.matrix_norm(x),
                                          [[0.0, 0.0], [0.0, 0.0]]),
    # softmax family, losses at the edges
    "softmax_neginf_grad": lambda L: _g(L, lambda x: x.softmax(0), [-INF, -INF]),
    "log_softmax_neginf_grad": lambda L: _g(L, lambda x: x.log_softmax(0), [-INF, -INF]),
    "softmax_inf": lambda L: L.tensor([INF, 0.0]).softmax(0),
    "bce_01_grad": lambda L: _g(L, lambda x: _F(L).binary_cross_entropy(x, L.tensor([0., 1, 1])),
                                [0.0, 1.0, 0.0]),
    "bce_logits_inf_grad": lambda L: _g(L, lambda x: _F(L).binary_cross_entropy_with_logits(
        x, L.tensor([0.0, 1.0, 1.0])), [INF, -INF, 1000.0]),
    "cross_entropy_inf_grad": lambda L: _g(
        L, lambda x: _F(L).cross_entropy(x, L.tensor([0, 1])), [[INF, 0.0], [-INF, 1.0]]),
    "nll_neginf_grad": lambda L: _g(
        L, lambda x: _F(L).nll_loss(x, L.tensor([0])), [[-INF, 0.0]]),
    "kl_div_zero_grad": lambda L: _g(L, lambda x: _F(L).kl_div(x, L.zeros(3), reduction="sum"),
                                     [0.0, -INF, 1.0]),
    "poisson_nll_zero_grad": lambda L: _g(L, lambda x: _F(L).poisson_nll_loss(
        x, L.ones(3), log_input=False), Z3),
    "gaussian_nll_zero_var_grad": lambda L: _g(L, lambda v: _F(L).gaussian_nll_loss(
        L.zeros(3), L.ones(3), v), Z3),
    "log_sigmoid_grad": lambda L: _g(L, _F(L).logsigmoid, [-1000.0, 1000.0, -INF]),
    "softplus_grad": lambda L: _g(L, _F(L).softplus, [-1000.0, 1000.0, INF]),
    "silu_inf_grad": lambda L: _g(L, _F(L).silu, [INF, -INF, 1000.0]),
    "gelu_inf_grad": lambda L: _g(L, _F(L).gelu, [INF, -INF, 1000.0]),
    "layer_norm_const_grad": lambda L: _g(L, lambda x: _F(L).layer_norm(x, (3,)) * L.tensor(
        [1.0, 2.0, 3.0]), [[1.0, 1.0, 1.0]]),
    "batch_norm_const_grad": lambda L: _g(L, lambda x: _F(L).batch_norm(
        x, None, None, training=True) * L.tensor([[1.0], [2.0]]), [[1.0], [1.0]]),
    # linear algebra on singular matrices
    "inv_singular": lambda L: L.linalg.inv(L.zeros(2, 2)),
    "solve_singular": lambda L: L.linalg.solve(L.zeros(2, 2), L.ones(2)),
    "cholesky_not_pd": lambda L: L.linalg.cholesky(-L.eye(2)),
    "det_singular_grad": lambda L: _g(L, L.linalg.det, [[1.0, 2.0], [2.0, 4.0]]),
    "slogdet_singular": lambda L: L.linalg.slogdet(L.zeros(2, 2)),
    "logdet_singular": lambda L: L.logdet(L.zeros(2, 2)),
    "cond_singular": lambda L: L.linalg.cond(L.tensor([[1.0, 0.0], [0.0, 0.0]])),
    "pinv_zero": lambda L: L.linalg.pinv(L.zeros(2, 2)),
    # optimizers with zero gradients (eps paths)
    "adam_zero": lambda L: _opt(L, "Adam"),
    "adam_eps0": lambda L: _opt(L, "Adam", eps=0.0),
    "adamw_eps0": lambda L: _opt(L, "AdamW", eps=0.0),
    "adamax_eps0": lambda L: _opt(L, "Adamax", eps=0.0),
    "nadam_eps0": lambda L: _opt(L, "NAdam", eps=0.0),
    "radam_eps0": lambda L: _opt(L, "RAdam", eps=0.0),
    "adagrad_eps0": lambda L: _opt(L, "Adagrad", eps=0.0),
    "rmsprop_eps0": lambda L: _opt(L, "RMSprop", eps=0.0),
    "adadelta_eps0": lambda L: _opt(L, "Adadelta", eps=0.0),
    "adadelta_zero": lambda L: _opt(L, "Adadelta"),
    # integer division by zero
    "int_floordiv0": lambda L: L.tensor([1, 2]) // L.tensor([0, 1]),
    "int_remainder0": lambda L: L.tensor([1, 2]) % L.tensor([0, 1]),
    "int_div0_true": lambda L: L.tensor([1, 0]) / L.tensor([0, 0]),
}

# Edge values where gputensor is silent but its value (or exception type) still differs from
# torch's: checked for silence only, listed so the gap stays visible (issue 9 follow-ups).
VALUE_GAPS = frozenset("""atan2_grad abs_sgn_grad argmax_empty median_empty bce_logits_inf_grad
    log_sigmoid_grad softplus_grad gelu_inf_grad det_singular_grad""".split())


def _outcome(lib, fn):
    """``(value or exception, warnings)`` of ``fn(lib)``; RuntimeWarnings are recorded, not
    raised, so every leak is seen."""
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        try:
            out = fn(lib)
        except Exception as e:  # noqa: BLE001 - compared with torch's below
            out = e
    return out, ws


def _exc_name(e: Exception) -> str:
    return "LinAlgError" if type(e).__name__ == "_LinAlgError" else type(e).__name__


@pytest.mark.parametrize("case", sorted(SWEEP))
def test_edge_values_warn_nothing_and_match_torch(case):
    fn = SWEEP[case]
    with np.errstate(all="warn"):  # NumPy's defaults, whatever the caller set
        got, gw = _outcome(gt, fn)
    want, tw = _outcome(torch, fn)
    leaks = [str(w.message) for w in gw if issubclass(w.category, RuntimeWarning)]
    assert not leaks, leaks
    t = {str(w.message).split(" (Triggered")[0] for w in tw if w.category is UserWarning}
    g = {str(w.message) for w in gw if w.category is UserWarning}
    assert t == g, (t, g)  # e.g. std() of one element: torch's degrees-of-freedom warning
    if case in VALUE_GAPS:
        return
    if isinstance(want, Exception):
        assert isinstance(got, Exception), f"torch raised {want!r}, gputensor returned {got}"
        assert _exc_name(got) == _exc_name(want)
        return
    assert not isinstance(got, Exception), f"gputensor raised {got!r}"
    _same_values(got, want)


def test_sweep_covers_forward_backward_and_optimizers():
    assert len(SWEEP) >= 60
    assert sum(k.endswith("_grad") for k in SWEEP) >= 30
    assert sum(k.startswith(("adam", "ada", "rms", "nadam", "radam")) for k in SWEEP) >= 8
