"""Sparse COO tensors against torch: construction, conversion, products and their gradients,
sums, arithmetic, a 2-layer GCN, and torch's exception types on bad input (cpu + simulated cuda)."""
import copy
import pickle

import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_grad, check_lib_op, to_np

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse invariant checks"),
              pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")]

# unsorted, with a duplicate (0, 1): nnz 5, 4 distinct entries of a 3x4 matrix
IDX = np.array([[0, 2, 1, 0, 2], [1, 0, 3, 1, 2]], dtype=np.int64)
VAL = np.array([1.0, -2.0, 3.0, 4.0, 0.5], dtype=np.float32)


def both(device, idx=IDX, val=VAL, size=(3, 4), **kw):
    sz = () if size is None else (size,)
    g = gt.sparse_coo_tensor(gt.tensor(idx), gt.tensor(val), *sz, device=device, **kw)
    t = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(val), *sz, **kw)
    return g, t


def dense(x) -> np.ndarray:
    return to_np(x.to_dense()) if x.is_sparse else to_np(x)


def tdense(x) -> np.ndarray:
    return (x.to_dense() if x.is_sparse else x).detach().numpy()


# -- construction -----------------------------------------------------------------------------

def test_construction_and_coalesce(device):
    g, t = both(device)
    assert g.is_sparse and not gt.ones(2).is_sparse
    assert g.layout is gt.sparse_coo and gt.ones(2).layout is gt.strided
    assert (g.shape, g._nnz(), g.sparse_dim(), g.dense_dim()) == (
        gt.Size([3, 4]), t._nnz(), t.sparse_dim(), t.dense_dim())
    assert g.is_coalesced() is t.is_coalesced() is False
    assert g.device.type == device and g.dtype is gt.float32
    np.testing.assert_array_equal(dense(g), tdense(t))
    gc, tc = g.coalesce(), t.coalesce()
    assert gc.is_coalesced() and gc._nnz() == tc._nnz() == 4
    assert gc.coalesce() is gc
    assert gc.indices().dtype is gt.int64 and gc.values().dtype is gt.float32
    np.testing.assert_array_equal(to_np(gc.indices()), tc.indices().numpy())
    np.testing.assert_array_equal(to_np(gc.values()), tc.values().numpy())  # duplicates summed


def test_size_inferred_and_hybrid(device):
    g, t = both(device, size=None)
    assert tuple(g.shape) == tuple(t.shape) == (3, 4)
    hv = np.arange(10, dtype=np.float64).reshape(5, 2)
    g, t = both(device, val=hv, size=None)
    assert tuple(g.shape) == tuple(t.shape) == (3, 4, 2) and g.dense_dim() == 1
    assert g.dtype is gt.float64
    np.testing.assert_array_equal(dense(g), tdense(t))
    np.testing.assert_array_equal(to_np(g.coalesce().values()), t.coalesce().values().numpy())
    e = gt.sparse_coo_tensor(gt.zeros(2, 0, dtype=gt.int64), gt.zeros(0), (2, 3), device=device)
    assert e._nnz() == 0 and np.all(dense(e) == 0) and tuple(e.shape) == (2, 3)


def test_lists_dtype_and_requires_grad(device):
    g = gt.sparse_coo_tensor([[0, 1], [1, 0]], [1, 2], (2, 2), device=device)
    t = torch.sparse_coo_tensor([[0, 1], [1, 0]], [1, 2], (2, 2))
    assert g.dtype.name == str(t.dtype)[6:] == "int64"
    g = gt.sparse_coo_tensor([[0, 1], [1, 0]], [1, 2], (2, 2), dtype=gt.float64,
                             requires_grad=True, device=device)
    assert g.dtype is gt.float64 and g.requires_grad and g.is_leaf
    legacy = gt.sparse.FloatTensor(gt.tensor(IDX), gt.tensor(VAL.astype(np.float64)),
                                   gt.Size([3, 4]))
    assert legacy.dtype is gt.float32 and legacy.is_sparse


def test_to_sparse_round_trip(device):
    a = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -3.0]], dtype=np.float32)
    g, t = gt.tensor(a, device=device).to_sparse(), torch.tensor(a).to_sparse()
    assert g.is_coalesced() and g._nnz() == t._nnz() == 3
    np.testing.assert_array_equal(to_np(g.indices()), t.indices().numpy())
    np.testing.assert_array_equal(to_np(g.values()), t.values().numpy())
    np.testing.assert_array_equal(dense(g), a)
    assert gt.tensor(a).to_dense().is_sparse is False
    assert g.to_sparse() is g
    b = np.zeros((3, 2, 2), np.float64)
    b[1, 0, 1] = 5.0
    g, t = gt.tensor(b, device=device).to_sparse(1), torch.tensor(b).to_sparse(1)
    assert (g.sparse_dim(), g.dense_dim(), g._nnz()) == (t.sparse_dim(), t.dense_dim(), 1)
    np.testing.assert_array_equal(to_np(g.values()), t.values().numpy())
    np.testing.assert_array_equal(dense(g), b)
    z = gt.zeros(2, 3, device=device).to_sparse()
    assert z._nnz() == 0 and tuple(z.indices().shape) == (2, 0)


def test_repr_matches_torch():
    g, t = both("cpu")
    assert repr(g) == repr(t).replace("torch.", "gputensor.")
    g, t = both("cpu", val=VAL.astype(np.float64), requires_grad=True)
    assert repr(g) == repr(t).replace("torch.", "gputensor.")
    g, t = gt.zeros(2, 3).to_sparse(), torch.zeros(2, 3).to_sparse()
    assert repr(g) == repr(t).replace("torch.", "gputensor.")
    assert repr(gt.sparse_coo) == "gputensor.sparse_coo" and repr(gt.strided) == "gputensor.strided"
    c = gt.sparse_coo_tensor(gt.tensor(IDX), gt.tensor(VAL), (3, 4), device="cuda")
    assert "device='cuda:0', size=(3, 4), nnz=5, layout=gputensor.sparse_coo)" in repr(c)


# -- products and gradients -------------------------------------------------------------------

@pytest.mark.parametrize("how", ["sparse.mm", "spmm", "mm", "matmul_op", "method"])
def test_mm_values_and_grads_match_torch(device, how, rng):
    d = rng.standard_normal((4, 3)).astype(np.float32)
    outs = []
    for lib in (gt, torch):
        s = lib.sparse_coo_tensor(lib.tensor(IDX), lib.tensor(VAL), (3, 4), requires_grad=True)
        x = lib.tensor(d, requires_grad=True)
        if lib is gt:
            s, x = s.to(device).detach().requires_grad_(), x.to(device).detach().requires_grad_()
        f = {"sparse.mm": lambda: lib.sparse.mm(s, x), "spmm": lambda: lib.spmm(s, x),
             "mm": lambda: lib.mm(s, x), "matmul_op": lambda: s @ x,
             "method": lambda: s.mm(x)}[how]
        y = f()
        (y * y).sum().backward()
        outs.append((y, s.grad, x.grad))
    (gy, gs, gx), (ty, ts, tx) = outs
    assert not gy.is_sparse and tuple(gy.shape) == (3, 3)
    np.testing.assert_allclose(to_np(gy), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_np(gx), tx.numpy(), rtol=1e-5, atol=1e-5)
    # torch: sparse.mm masks the sparse operand's gradient (sparse); mm/@/spmm give it dense
    assert gs.is_sparse == ts.is_sparse == (how == "sparse.mm") and gs.device.type == device
    np.testing.assert_allclose(dense(gs), tdense(ts), rtol=1e-5, atol=1e-5)


def test_mm_gradcheck(device, rng):
    d = rng.standard_normal((4, 2))
    check_lib_op(lambda lib, v, x: lib.sparse.mm(
        lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 4)), x), VAL.astype(np.float64), d,
        device=device)
    # dense @ sparse, sparse @ vector
    check_lib_op(lambda lib, v, x: x.t() @ lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 4)),
                 VAL.astype(np.float64), rng.standard_normal((3, 2)), device=device)
    check_lib_op(lambda lib, v, x: lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 4)) @ x,
                 VAL.astype(np.float64), rng.standard_normal(4), device=device)


def test_conversions_gradcheck(device, rng):
    v = VAL.astype(np.float64)
    sp = lambda lib, v: lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 4))  # noqa: E731
    check_lib_op(lambda lib, v: sp(lib, v).to_dense(), v, device=device)
    check_lib_op(lambda lib, v: sp(lib, v).coalesce().values() * 2, v, device=device)
    check_lib_op(lambda lib, v: (sp(lib, v) * 3 - sp(lib, v) / 2).to_dense(), v, device=device)
    check_lib_op(lambda lib, v: (-sp(lib, v).t()).to_dense(), v, device=device)
    check_lib_op(lambda lib, x: x.to_sparse().to_dense() * x, rng.standard_normal((2, 3)),
                 device=device)
    check_grad(lambda v: sp(gt, v).cpu().to(device, copy=True).to_dense(), v, device=device)


def test_sparse_grad_accumulates_over_two_uses(device, rng):
    d = rng.standard_normal((4, 2))
    res = []
    for lib in (gt, torch):
        s = lib.sparse_coo_tensor(lib.tensor(IDX), lib.tensor(VAL.astype(np.float64)), (3, 4),
                                  requires_grad=True)
        if lib is gt:
            s = s.to(device).detach().requires_grad_()
        x = lib.tensor(d) if lib is torch else gt.tensor(d, device=device)
        (lib.sparse.mm(s, x).sum() + (lib.sparse.mm(s, x) ** 2).sum()).backward()
        res.append(s.grad)
    np.testing.assert_allclose(dense(res[0]), tdense(res[1]), rtol=1e-7)


def test_sparse_sparse_and_addmm(device, rng):
    g, t = both(device, val=VAL.astype(np.float64))
    g2, t2 = g.t().coalesce(), t.t().coalesce()
    np.testing.assert_allclose(dense(g @ g2), tdense(torch.sparse.mm(t, t2)))
    m, d = rng.standard_normal((3, 2)), rng.standard_normal((4, 2))
    out = gt.sparse.addmm(gt.tensor(m, device=device), g, gt.tensor(d, device=device),
                          beta=0.5, alpha=2.0)
    ref = torch.sparse.addmm(torch.tensor(m), t, torch.tensor(d), beta=0.5, alpha=2.0)
    np.testing.assert_allclose(to_np(out), ref.numpy())


# -- sums, softmax, arithmetic ----------------------------------------------------------------

@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
def test_sparse_sum(device, dim):
    v = VAL.astype(np.float64)
    f = lambda lib, v: lib.sparse.sum(  # noqa: E731
        lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 4)), *(() if dim is None else (dim,)))
    g, t = f(gt, gt.tensor(v, device=device)), f(torch, torch.tensor(v))
    assert g.is_sparse == t.is_sparse and tuple(g.shape) == tuple(t.shape)
    np.testing.assert_allclose(dense(g), tdense(t))
    check_grad(lambda v: (lambda r: r.to_dense() if r.is_sparse else r)(f(gt, v)), v,
               device=device)


def test_sparse_sum_hybrid_and_method(device):
    hv = np.arange(10, dtype=np.float64).reshape(5, 2)
    g, t = both(device, val=hv, size=None)
    for dim in (2, (0, 1), 0):
        a, b = gt.sparse.sum(g, dim), torch.sparse.sum(t, dim)
        assert a.is_sparse == b.is_sparse
        np.testing.assert_allclose(dense(a), tdense(b))
    assert float(g.sum()) == float(t.sum())


@pytest.mark.parametrize("log", [False, True])
def test_sparse_softmax(device, log):
    fn = "log_softmax" if log else "softmax"
    check_lib_op(lambda lib, v: getattr(lib.sparse, fn)(
        lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 4)), 1).to_dense(),
        VAL.astype(np.float64), device=device)


def test_arithmetic(device, rng):
    g, t = both(device)
    g2, t2 = both(device, val=VAL[::-1].copy())
    x = rng.standard_normal((3, 4)).astype(np.float32)
    gx, tx = gt.tensor(x, device=device), torch.tensor(x)
    cases = [(g * 2, t * 2), (2 * g, 2 * t), (g / 4, t / 4), (-g, -t), (g + g2, t + t2),
             (g - g2, t - t2), (gx + g, tx + t), (gx - g, tx - t), (g * gx, t * tx),
             (g * gt.tensor(3.0), t * torch.tensor(3.0))]
    for a, b in cases:
        assert a.is_sparse == b.is_sparse
        np.testing.assert_allclose(dense(a), tdense(b), rtol=1e-6)


def test_device_and_dtype_moves(device):
    g, _ = both("cpu")
    m = g.to(device)
    assert m.device.type == device and m.is_sparse and g.to("cpu") is g
    assert m.cpu().device.type == "cpu" and m.cuda().device.type == "cuda"
    assert m.double().dtype is gt.float64 and m.double().float().dtype is gt.float32
    assert m.to(gt.float64).is_coalesced() is False
    np.testing.assert_array_equal(dense(m.double()), dense(g).astype(np.float64))
    s = gt.sparse_coo_tensor(gt.tensor(IDX), gt.tensor(VAL), (3, 4), requires_grad=True)
    gt.sparse.mm(s.to(device), gt.ones(4, 2, device=device)).sum().backward()
    assert s.grad.device.type == "cpu" and s.grad.is_sparse
    np.testing.assert_allclose(dense(s.grad), (dense(g) != 0) * 2.0)
    assert dense(pickle.loads(pickle.dumps(m))).tolist() == dense(m).tolist()
    assert dense(copy.deepcopy(m)).tolist() == dense(m).tolist()


# -- a graph network ----------------------------------------------------------------------------

def _normalized_adjacency(rng, n: int):
    a = (rng.random((n, n)) < 0.3).astype(np.float64)
    a = np.maximum(a, a.T) + np.eye(n)
    dinv = 1.0 / np.sqrt(a.sum(1))
    a = dinv[:, None] * a * dinv[None, :]
    r, c = np.nonzero(a)
    return np.stack([r, c]), a[r, c].astype(np.float32)


def _gcn_losses(lib, device, idx, val, x, y, w, steps: int = 3):
    n = x.shape[0]
    put = (lambda a: lib.tensor(a)) if lib is torch else (lambda a: gt.tensor(a, device=device))
    adj = lib.sparse_coo_tensor(put(idx), put(val), (n, n)).coalesce()
    w1, b1, w2, b2 = [put(a).requires_grad_() for a in w]
    opt = lib.optim.SGD([w1, b1, w2, b2], lr=0.5)
    xt, yt = put(x), put(y)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        h = lib.relu(lib.spmm(adj, xt @ w1) + b1)
        out = lib.sparse.mm(adj, h @ w2) + b2
        loss = lib.nn.functional.cross_entropy(out, yt)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [to_np(p) if lib is gt else p.detach().numpy() for p in (w1, b1, w2, b2)]


def test_gcn_two_layers_matches_torch(device, rng):
    n, f, h, c = 7, 5, 4, 3
    idx, val = _normalized_adjacency(rng, n)
    x = rng.standard_normal((n, f)).astype(np.float32)
    y = rng.integers(0, c, n)
    w = [rng.standard_normal(s).astype(np.float32) * 0.5 for s in ((f, h), (h,), (h, c), (c,))]
    gl, gp = _gcn_losses(gt, device, idx, val, x, y, w)
    tl, tp = _gcn_losses(torch, device, idx, val, x, y, w)
    np.testing.assert_allclose(gl, tl, rtol=1e-5)
    assert gl[-1] < gl[0]
    for a, b in zip(gp, tp):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


# -- errors ---------------------------------------------------------------------------------------

BAD = {
    "out of range": (IDX, VAL, (2, 4)),
    "negative": (-IDX, VAL, (3, 4)),
    "nnz mismatch": (IDX, VAL[:3], (3, 4)),
    "1-d indices": (IDX[0], VAL, (3, 4)),
    "size too short": (IDX, VAL, (3,)),
    "size too long": (IDX, VAL, (3, 4, 2)),
    "dense size": (IDX, np.ones((5, 2), np.float32), (3, 4, 3)),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_construction_raises_like_torch(device, case):
    i, v, size = BAD[case]
    with pytest.raises(RuntimeError) as te:
        torch.sparse_coo_tensor(torch.tensor(i), torch.tensor(v), size, check_invariants=True)
    with pytest.raises(type(te.value)) as ge:
        gt.sparse_coo_tensor(gt.tensor(i), gt.tensor(v), size, device=device)
    if case in ("out of range", "negative", "nnz mismatch", "size too short"):
        assert str(ge.value) == str(te.value)


def test_bad_ops_raise_like_torch(device):
    g, t = both(device)
    for f in (lambda lib, s, ones: lib.sparse.mm(s, ones(5, 2)),
              lambda lib, s, ones: lib.sparse.mm(s, ones(4, 2, dtype=lib.float64)),
              lambda lib, s, ones: s + ones(3, 4),
              lambda lib, s, ones: s.values(),
              lambda lib, s, ones: s.indices(),
              lambda lib, s, ones: ones(3, 4).coalesce(),
              lambda lib, s, ones: s.to_dense(dtype=lib.float64),
              lambda lib, s, ones: ones(2, 2).to_sparse(3)):
        with pytest.raises(Exception) as te:
            f(torch, t, torch.ones)
        with pytest.raises(type(te.value)):
            f(gt, g, lambda *a, **k: gt.ones(*a, device=device, **k))
    with pytest.raises(TypeError, match="to_dense"):
        g.numpy()


def test_dense_ops_on_sparse_raise_not_implemented(device):
    g, t = both(device)
    backend = "SparseCPU" if device == "cpu" else "SparseCUDA"
    for f in (lambda s: s.exp(), lambda s: s.view(12), lambda s: s.max(), lambda s: s.log()):
        with pytest.raises(NotImplementedError):
            f(t)
        with pytest.raises(NotImplementedError, match=backend):
            f(g)


@pytest.mark.parametrize("op", ["relu", "abs", "sin", "tanh", "square"])
def test_zero_preserving_unary(device, op):
    f = lambda lib, v: getattr(  # noqa: E731
        lib.sparse_coo_tensor(lib.tensor(IDX), v, (3, 4)), op)().to_dense()
    # torch's own backward of some of these fails on sparse inputs: compare values only
    check_lib_op(f, VAL.astype(np.float64), device=device, grad=False)
    check_grad(lambda v: f(gt, v), VAL.astype(np.float64), device=device)


def test_double_backward_and_node_names(device, rng):
    v = gt.tensor(VAL.astype(np.float64), device=device, requires_grad=True)
    d = gt.tensor(rng.standard_normal((4, 2)), device=device, requires_grad=True)
    idx = gt.tensor(IDX)
    for mm in (gt.sparse.mm, gt.mm):
        assert gt.autograd.gradgradcheck(lambda v, d: mm(gt.sparse_coo_tensor(idx, v, (3, 4)), d),
                                         (v, d))
    s = gt.sparse_coo_tensor(idx, v, (3, 4))
    ts = torch.sparse_coo_tensor(torch.tensor(IDX), torch.tensor(VAL, requires_grad=True), (3, 4))
    td = torch.ones(4, 2)
    pairs = [(s, ts), (gt.sparse.mm(s, d), torch.sparse.mm(ts, td)), (s @ d, ts @ td),
             (s.to_dense(), ts.to_dense()), (s.coalesce(), ts.coalesce()),
             (s.coalesce().values(), ts.coalesce().values())]
    for g, t in pairs:
        assert g.grad_fn.name() == type(t.grad_fn).__name__
