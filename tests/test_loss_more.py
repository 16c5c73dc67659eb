"""The margin, embedding and likelihood losses (F, nn and torch.* forms) against PyTorch."""
import warnings

import numpy as np
import pytest
import torch
from helpers import check_grad, compare_torch

import gputensor as gt

REDUCTIONS = ["none", "mean", "sum"]
R = np.random.default_rng(7)


def f32(*shape):
    return R.standard_normal(shape).astype(np.float32)


def signs(*shape):
    return np.where(R.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


X, Y, Z = f32(4, 5), f32(4, 5), f32(4, 5)
POS = R.uniform(0.2, 2.0, (4, 5)).astype(np.float32)
CNT = R.integers(0, 4, (4, 5)).astype(np.float32)
CLS = np.array([1, 0, 4, 2])
MLT = np.array([[1, 2, -1, 0, 0], [0, -1, 3, 3, 3], [4, 3, 2, 1, 0], [-1, 0, 0, 0, 0]])
W5 = R.uniform(0.5, 2, 5).astype(np.float32)
S4, S45 = signs(4), signs(4, 5)
KT = R.integers(0, 3, (4, 2))


_DEV = {"gt": "cpu"}  # where gputensor's constant (non-differentiated) operands go


def const(lib, a):
    return lib.tensor(np.asarray(a), device=_DEV["gt"]) if lib is gt else lib.tensor(np.asarray(a))


# name -> (fn(lib, F, reduction, *tensors), arrays): every float array is differentiated
CASES = {
    "cosine_embedding": (lambda lib, F, r, a, b: F.cosine_embedding_loss(
        a, b, const(lib, S4), reduction=r), (X, Y)),
    "cosine_embedding_margin": (lambda lib, F, r, a, b: F.cosine_embedding_loss(
        a, b, const(lib, np.array([1, -1, -1, 1])), margin=-0.2, reduction=r), (X, Y)),
    "cosine_embedding_unbatched": (lambda lib, F, r, a, b: F.cosine_embedding_loss(
        a, b, const(lib, np.array(-1.0)), reduction=r), (X[0], Y[0])),
    "hinge_embedding": (lambda lib, F, r, a: F.hinge_embedding_loss(
        a, const(lib, S45), margin=0.7, reduction=r), (X,)),
    "margin_ranking": (lambda lib, F, r, a, b: F.margin_ranking_loss(
        a, b, const(lib, S45), margin=0.3, reduction=r), (X, Y)),
    "soft_margin": (lambda lib, F, r, a: F.soft_margin_loss(a, const(lib, S45),
                                                            reduction=r), (X,)),
    "multilabel_soft_margin": (lambda lib, F, r, a, y: F.multilabel_soft_margin_loss(
        a, y, reduction=r), (X, (Y > 0).astype(np.float32))),
    "multilabel_soft_margin_w": (lambda lib, F, r, a: F.multilabel_soft_margin_loss(
        a, const(lib, (Y > 0).astype(np.float32)), weight=const(lib, W5), reduction=r), (X,)),
    "multi_margin": (lambda lib, F, r, a: F.multi_margin_loss(a, const(lib, CLS), reduction=r),
                     (X,)),
    "multi_margin_p2_w": (lambda lib, F, r, a: F.multi_margin_loss(
        a, const(lib, CLS), p=2, margin=0.6, weight=const(lib, W5), reduction=r), (X,)),
    "multi_margin_unbatched": (lambda lib, F, r, a: F.multi_margin_loss(
        a, const(lib, np.array(3)), reduction=r), (X[0],)),
    "multilabel_margin": (lambda lib, F, r, a: F.multilabel_margin_loss(
        a, const(lib, MLT), reduction=r), (X,)),
    "multilabel_margin_unbatched": (lambda lib, F, r, a: F.multilabel_margin_loss(
        a, const(lib, MLT[2]), reduction=r), (X[0],)),
    "poisson_log": (lambda lib, F, r, a: F.poisson_nll_loss(a, const(lib, CNT), reduction=r),
                    (X,)),
    "poisson_full": (lambda lib, F, r, a: F.poisson_nll_loss(
        a, const(lib, CNT), log_input=False, full=True, reduction=r), (POS,)),
    "poisson_full_target_grad": (lambda lib, F, r, a, y: F.poisson_nll_loss(
        a, y, log_input=False, full=True, reduction=r), (POS, CNT + 0.5)),
    "gaussian_hetero": (lambda lib, F, r, a, b, v: F.gaussian_nll_loss(a, b, v, reduction=r),
                        (X, Y, POS)),
    "gaussian_homo_full": (lambda lib, F, r, a, b, v: F.gaussian_nll_loss(
        a, b, v, full=True, eps=0.3, reduction=r), (X, Y, POS[:, 0])),
    "gaussian_float_var": (lambda lib, F, r, a, b: F.gaussian_nll_loss(a, b, 0.5, reduction=r),
                           (X, Y)),
    "triplet": (lambda lib, F, r, a, p, n: F.triplet_margin_loss(a, p, n, reduction=r),
                (X, Y, Z)),
    "triplet_p1_swap": (lambda lib, F, r, a, p, n: F.triplet_margin_loss(
        a, p, n, margin=2.0, p=1, swap=True, reduction=r), (X, Y, Z)),
    "triplet_unbatched": (lambda lib, F, r, a, p, n: F.triplet_margin_loss(a, p, n, reduction=r),
                          (X[0], Y[0], Z[0])),
    "triplet_distance_default": (lambda lib, F, r, a, p, n: F.triplet_margin_with_distance_loss(
        a, p, n, reduction=r), (X, Y, Z)),
    "triplet_distance_custom": (lambda lib, F, r, a, p, n: F.triplet_margin_with_distance_loss(
        a, p, n, distance_function=lambda u, v: ((u - v) ** 2).sum(-1), margin=3.0, swap=True,
        reduction=r), (X, Y, Z)),
    "linear_cross_entropy": (lambda lib, F, r, x, w, b: F.linear_cross_entropy(
        x, w, const(lib, CLS), linear_bias=b, reduction=r, label_smoothing=0.1),
        (X, f32(5, 5), f32(5))),
    "linear_cross_entropy_kdim": (lambda lib, F, r, x, w: F.linear_cross_entropy(
        x, w, const(lib, KT), weight=const(lib, W5[:3]).to(x.dtype), ignore_index=1, reduction=r),
        (X, f32(3, 2, 5))),
    "linear_cross_entropy_probs": (lambda lib, F, r, x, w, p: F.linear_cross_entropy(
        x, w, p, reduction=r), (X, f32(5, 5), R.dirichlet(np.ones(5), 4).astype(np.float32))),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_loss_vs_torch(case, reduction):
    fn, arrays = CASES[case]
    compare_torch(lambda *t: fn(gt, gt.nn.functional, reduction, *t), *arrays, device="cpu",
                  torch_fn=lambda *t: fn(torch, torch.nn.functional, reduction, *t))
    check_grad(lambda *t: fn(gt, gt.nn.functional, reduction, *t), *arrays, device="cpu")


@pytest.mark.parametrize("case", ["cosine_embedding", "multi_margin_p2_w", "multilabel_margin",
                                  "triplet_p1_swap", "gaussian_homo_full"])
def test_loss_cuda(case, monkeypatch):
    fn, arrays = CASES[case]
    monkeypatch.setitem(_DEV, "gt", "cuda")
    compare_torch(lambda *t: fn(gt, gt.nn.functional, "mean", *t), *arrays, device="cuda",
                  torch_fn=lambda *t: fn(torch, torch.nn.functional, "mean", *t))
    check_grad(lambda *t: fn(gt, gt.nn.functional, "mean", *t), *arrays, device="cuda")


MODULES = [
    ("CosineEmbeddingLoss", {"margin": 0.1}, (X, Y, S4)),
    ("HingeEmbeddingLoss", {"margin": 2.0}, (X, S45)),
    ("MarginRankingLoss", {"margin": 0.5, "reduction": "sum"}, (X, Y, S45)),
    ("SoftMarginLoss", {}, (X, S45.astype(np.int64))),
    ("MultiLabelSoftMarginLoss", {"weight": W5}, (X, (Y > 0).astype(np.float32))),
    ("MultiMarginLoss", {"p": 2, "weight": W5}, (X, CLS)),
    ("MultiLabelMarginLoss", {"reduction": "none"}, (X, MLT)),
    ("PoissonNLLLoss", {"log_input": False, "full": True}, (POS, CNT)),
    ("GaussianNLLLoss", {"full": True}, (X, Y, POS)),
    ("TripletMarginLoss", {"p": 3.0, "swap": True}, (X, Y, Z)),
    ("TripletMarginWithDistanceLoss", {"margin": 0.5}, (X, Y, Z)),
    ("LinearCrossEntropyLoss", {"in_features": 5, "num_classes": 3, "out_features": (2,),
                                "bias": True}, (X, KT)),
    ("NLLLoss2d", {"ignore_index": 1}, (f32(2, 3, 2, 3), R.integers(0, 3, (2, 2, 3)))),
]


@pytest.mark.parametrize("name,kw,arrays", MODULES, ids=[m[0] for m in MODULES])
def test_modules(name, kw, arrays):
    def make(lib):
        kws = {k: (lib.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return getattr(lib.nn, name)(**kws)
    g_mod, t_mod = make(gt), make(torch)
    g_mod.load_state_dict({k: gt.tensor(v.numpy()) for k, v in t_mod.state_dict().items()})
    compare_torch(lambda *t: g_mod(*t), *arrays, device="cpu", torch_fn=lambda *t: t_mod(*t))
    assert getattr(gt.nn.modules.loss, name) is getattr(gt.nn, name)  # torch.nn.modules.loss.X


def test_nllloss2d_warns():
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated"):
        gt.nn.NLLLoss2d()


def test_legacy_args_and_warning():
    for kw, red in [({"size_average": False}, "sum"), ({"reduce": False}, "none")]:
        with pytest.warns(UserWarning, match=f"reduction='{red}'"):
            m = gt.nn.SoftMarginLoss(**kw)
        assert m.reduction == red
        with pytest.warns(UserWarning):
            out = gt.nn.functional.hinge_embedding_loss(gt.tensor(X), gt.tensor(S45), **kw)
        assert out.ndim == (2 if red == "none" else 0)


def _err(fn):
    outcome = {}
    for lib in (gt, torch):
        try:
            fn(lib, lib.nn.functional)
            outcome[lib.__name__] = None
        except Exception as e:  # noqa: BLE001 - comparing what each raises
            outcome[lib.__name__] = (type(e), str(e).replace("gputensor.Size", "torch.Size"))
    return outcome


ERRORS = {
    "cos_target_2d": lambda lib, F: F.cosine_embedding_loss(
        const(lib, X), const(lib, Y), const(lib, np.ones((4, 1)))),
    "cos_input_dims": lambda lib, F: F.cosine_embedding_loss(
        const(lib, X), const(lib, Y[0]), const(lib, np.ones(4))),
    "ranking_dims": lambda lib, F: F.margin_ranking_loss(
        const(lib, X), const(lib, Y), const(lib, np.ones(5))),
    "multi_margin_p": lambda lib, F: F.multi_margin_loss(const(lib, X), const(lib, CLS), p=3),
    "multi_margin_range": lambda lib, F: F.multi_margin_loss(const(lib, X),
                                                             const(lib, np.array([1, 0, 5, 2]))),
    "multi_margin_int32": lambda lib, F: F.multi_margin_loss(const(lib, X),
                                                             const(lib, CLS.astype(np.int32))),
    "multi_margin_size": lambda lib, F: F.multi_margin_loss(const(lib, X), const(lib, CLS[:3])),
    "multi_margin_weight": lambda lib, F: F.multi_margin_loss(const(lib, X), const(lib, CLS),
                                                              weight=const(lib, W5[:3])),
    "multilabel_range": lambda lib, F: F.multilabel_margin_loss(
        const(lib, X), const(lib, np.full((4, 5), 7))),
    "multilabel_size": lambda lib, F: F.multilabel_margin_loss(const(lib, X), const(lib, MLT[:2])),
    "gaussian_neg_var": lambda lib, F: F.gaussian_nll_loss(const(lib, X), const(lib, Y),
                                                           const(lib, -POS)),
    "gaussian_var_size": lambda lib, F: F.gaussian_nll_loss(const(lib, X), const(lib, Y),
                                                            const(lib, POS[:, :2])),
    "gaussian_reduction": lambda lib, F: F.gaussian_nll_loss(const(lib, X), const(lib, Y), 1.0,
                                                             reduction="bad"),
    "triplet_margin": lambda lib, F: F.triplet_margin_loss(const(lib, X), const(lib, Y),
                                                           const(lib, Z), margin=0),
    "triplet_dims": lambda lib, F: F.triplet_margin_loss(const(lib, X), const(lib, Y),
                                                         const(lib, Z[0])),
    "poisson_reduction": lambda lib, F: F.poisson_nll_loss(const(lib, X), const(lib, Y),
                                                           reduction="avg"),
    "soft_margin_reduction": lambda lib, F: F.soft_margin_loss(const(lib, X), const(lib, Y),
                                                               reduction="avg"),
    "triplet_module_margin": lambda lib, F: lib.nn.TripletMarginWithDistanceLoss(margin=-1.0),
    "multi_margin_module_p": lambda lib, F: lib.nn.MultiMarginLoss(p=3),
    "linear_ce_features": lambda lib, F: F.linear_cross_entropy(const(lib, X), const(lib, Y[:, :3]),
                                                                const(lib, CLS)),
    "linear_ce_probs_ignore": lambda lib, F: F.linear_cross_entropy(
        const(lib, X), const(lib, Y), const(lib, Z), ignore_index=0),
    "linear_ce_module_smoothing": lambda lib, F: lib.nn.LinearCrossEntropyLoss(
        3, 4, label_smoothing=2.0),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_torch(case):
    out = _err(ERRORS[case])
    assert out["torch"] is not None
    assert out["gputensor"] == out["torch"]


TOP_LEVEL = [
    ("binary_cross_entropy_with_logits", lambda lib, r, a, b: lib.binary_cross_entropy_with_logits(
        a, b.sigmoid(), None, const(lib, W5), r), (X, Y)),
    ("kl_div", lambda lib, r, a, b: lib.kl_div(a, b, r, log_target=True), (X, Y)),
    ("cosine_embedding_loss", lambda lib, r, a, b: lib.cosine_embedding_loss(
        a, b, const(lib, S4), 0.1, r), (X, Y)),
    ("hinge_embedding_loss", lambda lib, r, a: lib.hinge_embedding_loss(
        a, const(lib, S45), 0.5, r), (X,)),
    ("margin_ranking_loss", lambda lib, r, a, b: lib.margin_ranking_loss(
        a, b, const(lib, S45), 0.2, r), (X, Y)),
    ("poisson_nll_loss", lambda lib, r, a: lib.poisson_nll_loss(
        a, const(lib, CNT), True, True, 1e-8, r), (X,)),
    ("triplet_margin_loss", lambda lib, r, a, p, n: lib.triplet_margin_loss(
        a, p, n, 1.0, 2.0, 1e-6, True, r), (X, Y, Z)),
]


@pytest.mark.parametrize("reduction", [0, 1, 2])
@pytest.mark.parametrize("name,fn,arrays", TOP_LEVEL, ids=[t[0] for t in TOP_LEVEL])
def test_top_level_int_reduction(name, fn, arrays, reduction):
    assert getattr(gt, name).__name__ == name
    compare_torch(lambda *t: fn(gt, reduction, *t), *arrays, device="cpu",
                  torch_fn=lambda *t: fn(torch, reduction, *t))


def test_top_level_defaults_and_str_reduction():
    a, b = gt.tensor(X), gt.tensor(Y).sigmoid()
    assert gt.binary_cross_entropy_with_logits(a, b).shape == (4, 5)
    assert gt.kl_div(a, b).shape == (4, 5)
    assert gt.hinge_embedding_loss(a, gt.tensor(S45)).shape == (4, 5)
    assert gt.triplet_margin_loss(a, a, b).shape == (4,)
    with pytest.raises(TypeError, match="must be int, not str"):
        gt.kl_div(a, b, "sum")
    with pytest.raises(TypeError):
        gt.kl_div(a, b, 1, True)  # log_target is keyword-only
