"""``foreach`` and ``fused`` optimizer paths: values against torch's same path over 10 steps,
flag validation, sparse refusal and state dicts that move between paths."""
import io

import numpy as np
import pytest
import torch

import gputensor as gt
from gputensor.optim import _multi

SHAPES = [(3, 4), (5,), (2, 3, 2), (1,), (7, 3)]
CUDA_SHAPES = [(3, 2), (5,), (1,)]

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.8, nesterov=True, maximize=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.02, betas=(0.3, 0.9), maximize=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.2)),
    ("AdamW", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, maximize=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
]
FUSED = {"SGD", "Adam", "AdamW", "Adagrad"}


def _flag_cases():
    out = []
    for name, kw in CASES:
        for flags in (dict(foreach=False), dict(foreach=True), dict(fused=True), {}):
            if "fused" in flags and name not in FUSED:
                continue
            out.append((name, kw, flags))
    return out


def _data(shapes, dtype, steps, seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    return init, grads


def _run(lib, name, kw, flags, init, grads, device=None, none_idx=2, opt_params=None):
    dev = {} if device is None else {"device": device}
    ps = [lib.tensor(a, requires_grad=True, **dev) for a in init]
    opt = getattr(lib.optim, name)(ps, **kw, **flags)
    for s, gs in enumerate(grads):
        for i, (p, g) in enumerate(zip(ps, gs)):
            # one parameter sits out some steps: skipped, its step count lags
            p.grad = None if (i == none_idx and s % 3 == 1) else lib.tensor(g, **dev)
        opt.step()
    return ps, opt


def _np(t):
    return t.detach().cpu().numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw,flags", _flag_cases())
def test_matches_torch_cpu(name, kw, flags, dtype):
    init, grads = _data(SHAPES, dtype, 10)
    pt, ot = _run(torch, name, kw, flags, init, grads)
    pg, og = _run(gt, name, kw, flags, init, grads)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-13)
    for a, b in zip(pt, pg):
        assert _np(b).dtype == np.dtype(dtype)
        np.testing.assert_allclose(_np(b), _np(a), **tol)
    st, sg = ot.state_dict()["state"], og.state_dict()["state"]
    assert sorted(st) == sorted(sg)
    for k in st:
        assert sorted(st[k]) == sorted(sg[k])
        for key in st[k]:
            np.testing.assert_allclose(_np(sg[k][key]), _np(st[k][key]), **tol)


@pytest.mark.parametrize("name,kw", [CASES[2], CASES[3], CASES[5], CASES[9]])
@pytest.mark.parametrize("flags", [dict(foreach=True), dict(fused=True), {}])
def test_matches_torch_cuda(name, kw, flags):
    init, grads = _data(CUDA_SHAPES, "float32", 3)
    pg, og = _run(gt, name, kw, flags, init, grads, device="cuda", none_idx=1)
    pt, _ = _run(torch, name, kw, flags, init, grads, none_idx=1)
    for a, b in zip(pt, pg):
        assert b.device.type == "cuda"
        np.testing.assert_allclose(_np(b), _np(a), rtol=1e-5, atol=1e-6)
    state = og.state[pg[0]]
    assert all(v.device.type == ("cpu" if k == "step" else "cuda") for k, v in state.items())


def test_default_path_is_single_on_cpu_foreach_on_cuda():
    cpu = [gt.zeros(2, requires_grad=True)]
    cuda = [gt.zeros(2, requires_grad=True, device="cuda")]
    group = {"foreach": None, "fused": None, "differentiable": False}
    assert _multi.choose_path(group, cpu) == "single"
    assert _multi.choose_path(group, cuda) == "foreach"
    assert _multi.choose_path(dict(group, differentiable=True), cuda) == "single"
    assert _multi.choose_path(dict(group, fused=True), cpu) == "fused"
    opt = gt.optim.Adam(cpu)
    assert opt.param_groups[0]["foreach"] is None and opt.param_groups[0]["fused"] is None


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad"])
def test_fused_flag_validation(name):
    p = [gt.zeros(2, requires_grad=True)]
    for lib, ps in ((torch, [torch.zeros(2, requires_grad=True)]), (gt, p)):
        with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together"):
            getattr(lib.optim, name)(ps, lr=0.1, foreach=True, fused=True)
        with pytest.raises(RuntimeError, match="`fused` does not support `differentiable`"):
            getattr(lib.optim, name)(ps, lr=0.1, differentiable=True, fused=True)


def test_fused_param_check_message():
    p = gt.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"`fused=True` requires all the params to be floating "
                       r"point Tensors of supported devices: \[.mps., .cuda.*but \S*int64 "
                       r"and cpu"):
        _multi.check_fused_param(gt.zeros(2, dtype=gt.int64))
    _multi.check_fused_param(p)


def _sparse(lib):
    i = lib.tensor([[0, 1], [1, 0]])
    return lib.sparse_coo_tensor(i, lib.tensor([1.0, 2.0]), (2, 2))


@pytest.mark.parametrize("name,flags,msg", [
    ("Adam", dict(foreach=True), "Adam does not support sparse gradients, please consider "
                                 "SparseAdam instead"),
    ("AdamW", dict(fused=True), "Adam does not support sparse gradients"),
    ("Adam", {}, "Adam does not support sparse gradients"),
    ("RMSprop", dict(foreach=True), "RMSprop does not support sparse gradients"),
    ("SGD", dict(fused=True), "`_fused_sgd` does not support sparse gradients"),
    ("Adagrad", dict(fused=True), "`fused` does not support sparse grad or complex param"),
])
def test_sparse_grads_refused_as_torch(name, flags, msg):
    for lib in (torch, gt):
        p = lib.ones(2, 2, requires_grad=True)
        p.grad = _sparse(lib)
        opt = getattr(lib.optim, name)([p], lr=0.1, **flags)
        with pytest.raises(RuntimeError, match=msg):
            opt.step()


@pytest.mark.parametrize("flags", [dict(foreach=False), dict(foreach=True)])
def test_sgd_sparse_grad_matches_torch(flags):
    out = []
    for lib in (torch, gt):
        p = lib.ones(2, 2, requires_grad=True)
        p.grad = _sparse(lib)
        opt = lib.optim.SGD([p], lr=0.1, momentum=0.5, **flags)
        opt.step()
        opt.step()
        out.append(_np(p))
    np.testing.assert_allclose(out[1], out[0], rtol=1e-6)


@pytest.mark.parametrize("name,kw", [CASES[1], CASES[3], CASES[7], CASES[9]])
def test_state_dict_moves_between_paths(name, kw):
    """3 steps on one path, state saved (through gt.save) and loaded into every other path,
    3 more steps: the same values as 6 uninterrupted steps in torch."""
    init, grads = _data(SHAPES, "float32", 6, seed=3)
    pt, _ = _run(torch, name, kw, {}, init, grads, none_idx=None)
    paths = [dict(foreach=False), dict(foreach=True)] + (
        [dict(fused=True)] if name in FUSED else [])
    for src in paths:
        pg, og = _run(gt, name, kw, src, init, grads[:3], none_idx=None)
        buf = io.BytesIO()
        gt.save(og.state_dict(), buf)
        for dst in paths:
            buf.seek(0)
            saved = gt.load(buf)
            ps = [gt.tensor(_np(p), requires_grad=True) for p in pg]
            opt = getattr(gt.optim, name)(ps, **kw, **dst)
            opt.load_state_dict(saved)
            for gs in grads[3:]:
                for p, g in zip(ps, gs):
                    p.grad = gt.tensor(g)
                opt.step()
            for a, b in zip(pt, ps):
                np.testing.assert_allclose(_np(b), _np(a), rtol=1e-5, atol=1e-6)
            sd = opt.state_dict()["state"]
            first = [k for k in sorted(sd[0]) if k != "step"][0]
            assert [tuple(sd[i][first].shape) for i in range(len(SHAPES))] == SHAPES
            assert all(isinstance(v, gt.Tensor) for s in sd.values() for v in s.values())


def test_foreach_state_is_per_parameter_and_tracks_in_place_edits():
    init, grads = _data(SHAPES, "float32", 2)
    pg, og = _run(gt, "Adam", dict(lr=0.1), dict(foreach=True), init, grads[:1])
    st = og.state[pg[0]]
    assert tuple(st["exp_avg"].shape) == SHAPES[0] and st["step"].shape == ()
    assert float(st["step"]) == 1.0
    st["exp_avg"].zero_()  # user edits the state in place: the next step sees it
    ref = [gt.tensor(_np(p), requires_grad=True) for p in pg]
    ro = gt.optim.Adam(ref, lr=0.1)
    ro.load_state_dict(og.state_dict())
    for ps, opt in ((pg, og), (ref, ro)):
        for p, g in zip(ps, grads[1]):
            p.grad = gt.tensor(g)
        opt.step()
    for a, b in zip(pg, ref):
        np.testing.assert_array_equal(_np(a), _np(b))


@pytest.mark.parametrize("flags", [dict(foreach=True), dict(fused=True)])
def test_mixed_dtypes_and_non_contiguous_params(flags):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((4, 3)), rng.standard_normal((3,)).astype(np.float32),
              rng.standard_normal((5, 2)).astype(np.float32)]
    res = []
    for lib in (torch, gt):
        ps = [lib.tensor(arrays[0]).t().detach().requires_grad_(),  # non-contiguous float64
              lib.tensor(arrays[1], requires_grad=True),
              lib.tensor(arrays[2]).t().detach().requires_grad_()]
        opt = lib.optim.Adam(ps, lr=0.1, weight_decay=0.1, **flags)
        for s in range(4):
            for p in ps:
                p.grad = lib.ones_like(p) * (s + 1) - p.detach()
            opt.step()
        res.append([_np(p) for p in ps])
    for a, b in zip(*res):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_foreach_respects_param_data_reassignment_and_version_counter():
    p = gt.ones(3, requires_grad=True)
    opt = gt.optim.SGD([p], lr=0.5, momentum=0.9, foreach=True)
    p.grad = gt.ones(3)
    v0 = p._version.value
    opt.step()
    assert p._version.value == v0 + 1
    p.data = gt.zeros(3)  # new storage: the next step must write into it
    opt.step()
    np.testing.assert_allclose(_np(p), np.full(3, -0.5 * 1.9), rtol=1e-6)


@pytest.mark.parametrize("name", ["SGD", "Adam", "Adagrad"])
def test_fused_param_storage_replaced_with_other_shape(name):
    """The fused kernels write through parameter addresses: a new storage of another shape must
    rebuild the bucket (torch then fails on the mismatched state; so do we, without writing out
    of bounds)."""
    p, q = gt.ones(3, requires_grad=True), gt.ones(2, requires_grad=True)
    opt = getattr(gt.optim, name)([p, q], lr=0.1, fused=True)
    p.grad, q.grad = gt.ones(3), gt.ones(2)
    opt.step()
    p.data = gt.ones(5000)
    p.grad = gt.ones(5000)
    try:
        opt.step()
    except (RuntimeError, ValueError):
        pass
    assert _np(q).shape == (2,) and np.isfinite(_np(q)).all()
    opt.state.clear()
    opt.__dict__.pop("_flat_plans", None)
    if name == "Adagrad":
        opt.state[p]["step"] = gt.tensor(0.0)
        opt.state[p]["sum"] = gt.zeros(5000)
        opt.state[q]["step"] = gt.tensor(0.0)
        opt.state[q]["sum"] = gt.zeros(2)
    opt.step()
    assert np.isfinite(_np(p)).all()
