"""Statistics and distances against torch: quantile family, nanmedian, mode, aminmax, cov,
corrcoef, cdist, pdist, dist, F.pairwise_distance, F.cosine_similarity."""
import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op, compare_torch, to_gt, to_np

INTERP = ["linear", "lower", "higher", "midpoint", "nearest"]


@pytest.mark.parametrize("interpolation", INTERP)
def test_quantile_modes(rng, interpolation):
    x = rng.standard_normal((3, 7)).astype(np.float32)
    q = np.array([0.0, 0.3, 0.5, 0.9, 1.0], np.float32)
    check_lib_op(lambda lib, a: lib.quantile(a, 0.37, interpolation=interpolation), x,
                 device="cpu")
    check_lib_op(lambda lib, a: lib.quantile(a, lib.tensor(q, dtype=a.dtype), dim=1,
                                             keepdim=True, interpolation=interpolation), x,
                 device="cpu")
    check_lib_op(lambda lib, a: a.quantile(lib.tensor(q, dtype=a.dtype), dim=0,
                                           interpolation=interpolation), x, device="cpu")


def test_quantile_cuda(rng):
    x = rng.standard_normal((3, 5)).astype(np.float32)
    check_lib_op(lambda lib, a: lib.quantile(a, lib.tensor([0.25, 0.6], dtype=a.dtype,
                                                           device=a.device), dim=-1), x,
                 device="cuda")


def test_quantile_nan_and_nanquantile(rng):
    x = rng.standard_normal((4, 6))
    x[0, 2] = np.nan
    x[2, :] = np.nan
    q = np.array([0.2, 0.5, 0.75])
    for interp in INTERP:
        for name in ("quantile", "nanquantile"):
            f = lambda lib, a: getattr(lib, name)(a, lib.tensor(q), dim=1,  # noqa: E731
                                                  interpolation=interp)
            np.testing.assert_allclose(to_np(f(gt, gt.tensor(x))),
                                       f(torch, torch.tensor(x)).numpy(), rtol=1e-12)
    assert np.isnan(to_np(gt.quantile(gt.tensor(x), 0.5)))
    np.testing.assert_allclose(to_np(gt.nanquantile(gt.tensor(x), 0.5)),
                               torch.nanquantile(torch.tensor(x), 0.5).numpy())
    y = rng.standard_normal((3, 4))
    y[1, 1] = np.nan
    check_lib_op(lambda lib, a: lib.nanquantile(a, 0.4, dim=1), y, device="cpu")


def test_quantile_errors():
    x = gt.tensor([1.0, 2.0])
    cases = [(lambda: gt.quantile(x, 1.5), r"quantile\(\) q must be in the range \[0, 1\] but "
              r"got 1.5"),
             (lambda: gt.quantile(gt.tensor([1, 2]), 0.5), "input tensor must be either float "
              "or double dtype"),
             (lambda: gt.quantile(x, gt.tensor([0.5], dtype=gt.float64)), "q tensor must be "
              "same dtype as the input tensor"),
             (lambda: gt.quantile(x, 0.5, interpolation="bad"), "interpolation must be one of "
              "linear, lower, higher, midpoint or nearest, but got bad"),
             (lambda: gt.quantile(gt.tensor([]), 0.5), "input tensor must be non-empty")]
    for f, msg in cases:
        with pytest.raises(RuntimeError, match=msg):
            f()


def test_nanmedian_mode_aminmax(device):
    x = np.array([[1.0, np.nan, 3.0, 2.0, 5.0], [4.0, 4.0, 1.0, 1.0, 0.0]], np.float32)
    for f in (lambda lib, a: tuple(lib.nanmedian(a, 1)),
              lambda lib, a: tuple(a.nanmedian(0, keepdim=True)),
              lambda lib, a: lib.nanmedian(a)):
        compare_torch(lambda a: f(gt, a), x, device=device, torch_fn=lambda a: f(torch, a))
    i = np.array([[1, 2, 2, 1, 3], [5, 5, 4, 4, 0]])
    g, t = gt.mode(to_gt(i, device)), torch.mode(torch.tensor(i))
    np.testing.assert_array_equal(to_np(g.values), t.values.numpy())
    np.testing.assert_array_equal(to_np(g.indices), t.indices.numpy())
    y = np.array([[0.5, 2.0, 0.5], [1.0, 3.0, 3.0]], np.float32)
    compare_torch(lambda a: tuple(gt.mode(a, 0)), y, device=device,
                  torch_fn=lambda a: tuple(torch.mode(a, 0)))
    for f in (lambda lib, a: tuple(lib.aminmax(a)), lambda lib, a: tuple(lib.aminmax(a, dim=1)),
              lambda lib, a: tuple(a.aminmax(dim=0, keepdim=True))):
        compare_torch(lambda a: f(gt, a), y, device=device, torch_fn=lambda a: f(torch, a))


def test_cov_corrcoef(rng):
    x = rng.standard_normal((3, 6))
    fw = np.array([1, 2, 1, 3, 1, 1])
    aw = rng.uniform(0.5, 2.0, 6)
    check_lib_op(lambda lib, a: lib.cov(a), x, device="cpu")
    check_lib_op(lambda lib, a: lib.cov(a, correction=0), x, device="cpu")
    check_lib_op(lambda lib, a, w: lib.cov(a, fweights=lib.tensor(fw), aweights=w), x, aw,
                 device="cpu")
    check_lib_op(lambda lib, a: lib.cov(a[0]), x, device="cpu")
    check_lib_op(lambda lib, a: lib.corrcoef(a), x, device="cpu")
    check_lib_op(lambda lib, a: a.corrcoef(), x, device="cuda", grad=False)


@pytest.mark.parametrize("p", [0.0, 1.0, 1.5, 2.0, 3.0, float("inf")])
def test_cdist(rng, p):
    a = rng.standard_normal((2, 4, 3))
    b = rng.standard_normal((2, 5, 3))
    check_lib_op(lambda lib, x, y: lib.cdist(x, y, p=p), a, b, device="cpu",
                 grad=p != 0.0)


def test_cdist_cuda_and_modes(rng):
    a, b = rng.standard_normal((3, 2)), rng.standard_normal((4, 2))
    check_lib_op(lambda lib, x, y: lib.cdist(x, y), a, b, device="cuda")
    check_lib_op(lambda lib, x, y: lib.cdist(x, y, compute_mode="donot_use_mm_for_euclid_dist"),
                 a, b, device="cpu")


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
def test_pdist(rng, p):
    a = rng.standard_normal((5, 3))
    check_lib_op(lambda lib, x: lib.nn.functional.pdist(x, p), a, device="cpu")
    check_lib_op(lambda lib, x: lib.pdist(x, p=p), a, device="cpu", grad=False)


def test_pdist_cuda(rng):
    check_lib_op(lambda lib, x: lib.nn.functional.pdist(x), rng.standard_normal((3, 2)),
                 device="cuda")


def test_dist(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4,))
    for p in (1, 2, 3.5, float("inf")):
        check_lib_op(lambda lib, x, y: lib.dist(x, y, p), a, b, device="cpu")


def test_pairwise_distance_cosine_similarity(device, rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    check_lib_op(lambda lib, x, y: lib.nn.functional.pairwise_distance(x, y), a, b,
                 device=device)
    check_lib_op(lambda lib, x, y: lib.nn.functional.cosine_similarity(x, y), a, b,
                 device=device)
    if device == "cuda":
        return
    check_lib_op(lambda lib, x, y: lib.nn.functional.pairwise_distance(x, y, p=1, keepdim=True),
                 a, b, device="cpu")
    check_lib_op(lambda lib, x, y: lib.nn.functional.cosine_similarity(x, y[:1], dim=0), a, b,
                 device="cpu")
    check_lib_op(lambda lib, x, y: lib.cosine_similarity(x, y, dim=-1, eps=1e-3), a, b,
                 device="cpu")


def test_histogramdd(device, rng):
    x = rng.uniform(-1, 2, (7, 2)).astype(np.float32)
    w = rng.uniform(0, 1, 7).astype(np.float32)
    cases = [lambda lib, a: lib.histogramdd(a, bins=[3, 4]),
             lambda lib, a: lib.histogramdd(a, bins=3, density=True),
             lambda lib, a: lib.histogramdd(a, bins=[2, 3], range=[-1.0, 2.0, 0.0, 1.0],
                                            weight=lib.tensor(w, device=a.device)),
             lambda lib, a: lib.histogramdd(a, bins=[lib.tensor([-1.0, 0.0, 2.0], device=a.device),
                                                     lib.tensor([-1.0, 1.0, 2.0], device=a.device)])]
    for f in cases:
        g, t = f(gt, to_gt(x, device)), f(torch, torch.tensor(x))
        np.testing.assert_allclose(to_np(g.hist), t.hist.numpy(), rtol=1e-5)
        assert g.hist.dtype == gt.float32 and len(g.bin_edges) == len(t.bin_edges)
        for ge, te in zip(g.bin_edges, t.bin_edges):
            np.testing.assert_allclose(to_np(ge), te.numpy(), rtol=1e-6)
