"""Audit of the existing losses' options against PyTorch: values, gradients, dtypes, warnings
and errors over weight / ignore_index / label_smoothing / pos_weight / log_target / N-d /
unbatched / empty inputs and every reduction."""
import warnings

import numpy as np
import pytest
import torch
from helpers import check_grad, compare_torch

import gputensor as gt

R = np.random.default_rng(11)
X = R.standard_normal((4, 5)).astype(np.float32)
Y = R.standard_normal((4, 5)).astype(np.float32)
P = R.uniform(0, 1, (4, 5)).astype(np.float32)
P[0, 0], P[1, 1] = 0.0, 1.0  # log clamped at -100
Q = R.uniform(0, 1, (4, 5)).astype(np.float32)
PROBS = R.dirichlet(np.ones(5), 4).astype(np.float32)
T = np.array([1, -100, 4, 2])
W = R.uniform(0.5, 2, 5).astype(np.float32)
X4 = R.standard_normal((2, 3, 2, 3)).astype(np.float32)
T4 = np.array([[[0, 1, 2], [2, -100, 1]], [[1, 1, 0], [2, 0, -100]]])
P4 = R.dirichlet(np.ones(3), (2, 2, 3)).transpose(0, 3, 1, 2).astype(np.float32)
_DEV = {"gt": "cpu"}
REDUCTIONS = ["none", "mean", "sum"]


def c(lib, a):
    return lib.tensor(np.asarray(a), device=_DEV["gt"]) if lib is gt else lib.tensor(np.asarray(a))


def F(lib):
    return lib.nn.functional


CASES = {}
for ls in (0.0, 0.25):
    for wt in (None, W):
        for ii in (-100, 2):
            CASES[f"ce_ls{ls}_w{wt is not None}_ii{ii}"] = (
                lambda lib, r, x, ls=ls, wt=wt, ii=ii: F(lib).cross_entropy(
                    x, c(lib, np.where(T == -100, ii, T) if ii != -100 else T),
                    weight=None if wt is None else c(lib, wt).to(x.dtype), ignore_index=ii,
                    reduction=r,
                    label_smoothing=ls), (X,))
            CASES[f"ce4d_ls{ls}_w{wt is not None}_ii{ii}"] = (
                lambda lib, r, x, ls=ls, wt=wt, ii=ii: F(lib).cross_entropy(
                    x, c(lib, np.where(T4 == -100, ii, T4) if ii != -100 else T4),
                    weight=None if wt is None else c(lib, wt[:3]).to(x.dtype),
                    ignore_index=ii,
                    reduction=r, label_smoothing=ls), (X4,))
        CASES[f"ce_probs_ls{ls}_w{wt is not None}"] = (
            lambda lib, r, x, p, ls=ls, wt=wt: F(lib).cross_entropy(
                x, p, weight=None if wt is None else c(lib, wt), reduction=r,
                label_smoothing=ls), (X, PROBS))
    CASES[f"ce4d_probs_ls{ls}"] = (lambda lib, r, x, p, ls=ls: F(lib).cross_entropy(
        x, p, reduction=r, label_smoothing=ls), (X4, P4))
CASES.update({
    "ce_unbatched": (lambda lib, r, x: F(lib).cross_entropy(x, c(lib, np.array(3)), reduction=r),
                     (X[0],)),
    "ce_unbatched_probs": (lambda lib, r, x, p: F(lib).cross_entropy(x, p, reduction=r),
                           (X[0], PROBS[0])),
    "ce_uint8_target": (lambda lib, r, x: F(lib).cross_entropy(
        x, c(lib, np.array([1, 0, 4, 2], np.uint8)), reduction=r), (X,)),
    "ce_empty": (lambda lib, r, x: F(lib).cross_entropy(x, c(lib, T[:0]), reduction=r), (X[:0],)),
    "ce_all_ignored": (lambda lib, r, x: F(lib).cross_entropy(x, c(lib, np.full(4, -100)),
                                                              reduction=r), (X,)),
    "ce_f64_input_f32_probs": (lambda lib, r, x, p: F(lib).cross_entropy(x, p, reduction=r),
                               (X.astype(np.float64), PROBS)),
    "nll_w_ii": (lambda lib, r, x: F(lib).nll_loss(x, c(lib, T), weight=c(lib, W), reduction=r),
                 (X,)),
    "nll_ii1": (lambda lib, r, x: F(lib).nll_loss(x, c(lib, np.array([1, 1, 4, 2])),
                                                  ignore_index=1, reduction=r), (X,)),
    "nll_4d_w": (lambda lib, r, x: F(lib).nll_loss(x, c(lib, T4), weight=c(lib, W[:3]).to(x.dtype),
                                                   reduction=r), (X4,)),
    "nll_unbatched": (lambda lib, r, x: F(lib).nll_loss(x, c(lib, np.array(2)), reduction=r),
                      (X[0],)),
    "nll_empty": (lambda lib, r, x: F(lib).nll_loss(x, c(lib, T[:0]), reduction=r), (X[:0],)),
    "nll_all_ignored": (lambda lib, r, x: F(lib).nll_loss(x, c(lib, np.full(4, -100)),
                                                          reduction=r), (X,)),
    "bce": (lambda lib, r, p, q: F(lib).binary_cross_entropy(p, q, reduction=r), (P, Q)),
    "bce_weight": (lambda lib, r, p, q: F(lib).binary_cross_entropy(p, q, weight=c(lib, W),
                                                                    reduction=r), (P, Q)),
    "bce_weight_f64": (lambda lib, r, p, q: F(lib).binary_cross_entropy(
        p, q, weight=c(lib, W.astype(np.float64)), reduction=r), (P, Q)),
    "bce_empty": (lambda lib, r, p, q: F(lib).binary_cross_entropy(p, q, reduction=r),
                  (P[:0], Q[:0])),
    "kl_batchmean": (lambda lib, r, x, q: F(lib).kl_div(x, q, reduction="batchmean"), (X, Q)),
    "kl_batchmean_log_target": (lambda lib, r, x, q: F(lib).kl_div(
        x, q, reduction="batchmean", log_target=True), (X, Y)),
    "kl_zero_target": (lambda lib, r, x, q: F(lib).kl_div(x, q, reduction=r),
                       (X, np.where(Q < 0.3, 0, Q).astype(np.float32))),
    "mse_int_input": (lambda lib, r, y: F(lib).mse_loss(c(lib, (X > 0) * 1), y, reduction=r), (Y,)),
    "l1_int_input": (lambda lib, r, y: F(lib).l1_loss(c(lib, (X > 0) * 1), y, reduction=r), (Y,)),
    "kl_f64_target": (lambda lib, r, x, q: F(lib).kl_div(x, q, reduction=r),
                      (X, Q.astype(np.float64))),
})
for pw in (None, W, W[:1], np.full((4, 1), 2.0, np.float32)):
    for wt in (None, W):
        name = f"bcel_pw{None if pw is None else pw.shape}_w{wt is not None}"
        CASES[name] = (lambda lib, r, x, q, pw=pw, wt=wt: F(lib).binary_cross_entropy_with_logits(
            x, q, weight=None if wt is None else c(lib, wt),
            pos_weight=None if pw is None else c(lib, pw), reduction=r), (X, Q))
for nm, kw in [("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}),
               ("smooth_l1_loss", {"beta": 0.0}), ("smooth_l1_loss", {"beta": 0.5}),
               ("huber_loss", {}), ("huber_loss", {"delta": 0.4})]:
    key = nm + "".join(f"_{k}{v}" for k, v in kw.items())
    CASES[key] = (lambda lib, r, a, b, nm=nm, kw=kw: getattr(F(lib), nm)(a, b, reduction=r, **kw),
                  (X, Y))
    CASES[key + "_empty"] = (lambda lib, r, a, b, nm=nm, kw=kw: getattr(F(lib), nm)(
        a, b, reduction=r, **kw), (X[:0], Y[:0]))
    CASES[key + "_f64_target"] = (lambda lib, r, a, b, nm=nm, kw=kw: getattr(F(lib), nm)(
        a, b, reduction=r, **kw), (X, Y.astype(np.float64)))
    CASES[key + "_int_target"] = (lambda lib, r, a, nm=nm, kw=kw: getattr(F(lib), nm)(
        a, c(lib, (Y > 0).astype(np.int64)), reduction=r, **kw), (X,))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_audit_vs_torch(case, reduction):
    fn, arrays = CASES[case]
    # torch's huber backward refuses a target of another dtype (its forward accepts it)
    grad = not (case.startswith("huber") and case.endswith(("_f64_target", "_int_target")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div 'mean' warns in both
        compare_torch(lambda *t: fn(gt, reduction, *t), *arrays, device="cpu",
                      torch_fn=lambda *t: fn(torch, reduction, *t), grad=grad)


GRADCHECK = ["ce_ls0.25_wTrue_ii2", "ce4d_ls0.25_wTrue_ii-100", "ce_probs_ls0.25_wTrue",
             "nll_4d_w", "bce_weight", "bcel_pw(4, 1)_wTrue", "kl_batchmean_log_target",
             "smooth_l1_loss_beta0.5", "huber_loss_delta0.4"]


@pytest.mark.parametrize("case", GRADCHECK)
def test_audit_gradcheck(case):
    fn, arrays = CASES[case]
    arrays = [np.clip(a, 0.05, 0.95) if case.startswith("bce_") else a for a in arrays]
    check_grad(lambda *t: fn(gt, "mean", *t), *arrays, device="cpu")


@pytest.mark.parametrize("case", ["ce_ls0.25_wTrue_ii2", "bcel_pw(5,)_wTrue"])
def test_audit_cuda(case, monkeypatch):
    fn, arrays = CASES[case]
    monkeypatch.setitem(_DEV, "gt", "cuda")
    compare_torch(lambda *t: fn(gt, "mean", *t), *arrays, device="cuda",
                  torch_fn=lambda *t: fn(torch, "mean", *t))


def _outcome(fn):
    out = {}
    for lib in (gt, torch):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            try:
                fn(lib)
                err = None
            except Exception as e:  # noqa: BLE001 - comparing what each raises
                err = (type(e), str(e).replace("gputensor.", "torch."))
        out[lib.__name__] = (err, [(w.category, str(w.message).replace("gputensor.", "torch."))
                                   for w in rec])
    return out


BEHAVIOUR = {
    "mse_broadcast_warns": lambda lib: F(lib).mse_loss(c(lib, X), c(lib, Y[:1])),
    "l1_broadcast_warns": lambda lib: F(lib).l1_loss(c(lib, X), c(lib, Y[:1])),
    "smooth_l1_broadcast_warns": lambda lib: F(lib).smooth_l1_loss(c(lib, X), c(lib, Y[:1])),
    "huber_broadcast_warns": lambda lib: F(lib).huber_loss(c(lib, X), c(lib, Y[:1])),
    "kl_mean_warns": lambda lib: F(lib).kl_div(c(lib, X), c(lib, Q)),
    "legacy_size_average": lambda lib: F(lib).mse_loss(c(lib, X), c(lib, Y), size_average=False),
    "legacy_reduce": lambda lib: lib.nn.L1Loss(reduce=False),
    "bce_size_mismatch": lambda lib: F(lib).binary_cross_entropy(c(lib, P), c(lib, Q[:1])),
    "bce_int_target": lambda lib: F(lib).binary_cross_entropy(c(lib, P), c(lib, (Q > .5) * 1)),
    "bce_f64_target": lambda lib: F(lib).binary_cross_entropy(c(lib, P),
                                                               c(lib, Q.astype(np.float64))),
    "bce_out_of_range": lambda lib: F(lib).binary_cross_entropy(c(lib, P + 1), c(lib, Q)),
    "bcel_size_mismatch": lambda lib: F(lib).binary_cross_entropy_with_logits(c(lib, X),
                                                                              c(lib, Q[0])),
    "bcel_int_target": lambda lib: F(lib).binary_cross_entropy_with_logits(
        c(lib, X), c(lib, (Q > .5) * 1)),
    "bcel_int_input": lambda lib: F(lib).binary_cross_entropy_with_logits(
        c(lib, (Q > .5) * 1), c(lib, Q)),
    "ce_float_target_1d": lambda lib: F(lib).cross_entropy(c(lib, X), c(lib, Q[:, 0])),
    "ce_float_target_shape": lambda lib: F(lib).cross_entropy(c(lib, X), c(lib, Q[:, :3])),
    "ce_target_2d_for_2d_input": lambda lib: F(lib).cross_entropy(c(lib, X), c(lib, T4[0])),
    "ce_target_batch": lambda lib: F(lib).cross_entropy(c(lib, X), c(lib, T[:3])),
    "ce_target_nd_size": lambda lib: F(lib).cross_entropy(c(lib, X4), c(lib, T4[:, :, :2])),
    "nll_target_4d_dims": lambda lib: F(lib).nll_loss(c(lib, X4), c(lib, T4[:, 0])),
    "ce_target_5d_size": lambda lib: F(lib).cross_entropy(c(lib, X4[..., None]), c(lib, T4)),
    "ce_int32_target": lambda lib: F(lib).cross_entropy(c(lib, X), c(lib, T.astype(np.int32))),
    "ce_target_oob": lambda lib: F(lib).cross_entropy(c(lib, X), c(lib, np.array([1, 0, 5, 2]))),
    "nll_target_negative": lambda lib: F(lib).nll_loss(c(lib, X), c(lib, np.array([1, 0, -1, 2]))),
    "ce_weight_dtype": lambda lib: F(lib).cross_entropy(c(lib, X.astype(np.float64)),
                                                        c(lib, T), weight=c(lib, W)),
    "nll_weight_dtype": lambda lib: F(lib).nll_loss(c(lib, X), c(lib, T),
                                                    weight=c(lib, W.astype(np.float64))),
    "ce_label_smoothing_range": lambda lib: F(lib).cross_entropy(c(lib, X), c(lib, T),
                                                                 label_smoothing=1.5),
    "ce_bad_reduction": lambda lib: F(lib).cross_entropy(c(lib, X), c(lib, T), reduction="avg"),
    "mse_int_both": lambda lib: F(lib).mse_loss(c(lib, (X > 0) * 1), c(lib, (Y > 0) * 1)),
    "huber_int_input": lambda lib: F(lib).huber_loss(c(lib, (X > 0) * 1), c(lib, Y)),
    "smooth_l1_negative_beta": lambda lib: F(lib).smooth_l1_loss(c(lib, X), c(lib, Y), beta=-1.0),
    "huber_zero_delta": lambda lib: F(lib).huber_loss(c(lib, X), c(lib, Y), delta=0.0),
    "kl_int_target": lambda lib: F(lib).kl_div(c(lib, X), c(lib, (Y > 0) * 1)),
}


@pytest.mark.parametrize("case", sorted(BEHAVIOUR))
def test_audit_errors_and_warnings(case):
    out = _outcome(BEHAVIOUR[case])
    assert out["gputensor"] == out["torch"]
    assert out["torch"][0] is not None or out["torch"][1]  # each case raises or warns in torch
