"""LBFGS (plain and strong-Wolfe line search) against torch: iterates after every ``step``,
state layout and counters, resume from a state dict, stopping rules and errors."""
import io

import numpy as np
import pytest
import torch

import gputensor as gt
from gputensor import optim


def _objective(lib, w, x, A, b):
    """Rosenbrock in ``w`` plus a least-squares / quartic term in ``x`` (two parameters)."""
    rosen = (100 * (w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2).sum()
    return rosen + ((A @ x - b) ** 2).sum() + 0.1 * (x ** 4).sum()


def _problem(dtype=np.float64):
    rng = np.random.default_rng(3)
    return (np.array([-1.2, 1.0, -0.5, 0.8, 1.3], dtype), rng.standard_normal(3).astype(dtype),
            rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal(4).astype(dtype))


def _run(lib, kw, steps, device=None, dtype=np.float64, opt_state=None, start=None):
    w0, x0, A, b = _problem(dtype)
    if start is not None:
        w0, x0 = start
    mk = (lambda a, **k: gt.tensor(a, device=device, **k)) if lib is gt else \
        (lambda a, **k: torch.tensor(a, **k))
    w, x = mk(w0, requires_grad=True), mk(x0, requires_grad=True)
    At, bt = mk(A), mk(b)
    opt = (optim.LBFGS if lib is gt else torch.optim.LBFGS)([w, x], **kw)
    if opt_state is not None:
        opt.load_state_dict(opt_state)
    calls = []

    def closure():
        opt.zero_grad()
        loss = _objective(lib, w, x, At, bt)
        loss.backward()
        calls.append(float(loss.detach()))
        return loss

    traj = []
    for _ in range(steps):
        loss = opt.step(closure)
        traj.append((float(loss.detach()), w.detach().cpu().numpy().copy(),
                     x.detach().cpu().numpy().copy()))
    return opt, traj, calls, (w, x)


CONFIGS = [
    dict(lr=0.05, max_iter=4),
    dict(lr=0.2, max_iter=6, history_size=3),
    dict(line_search_fn="strong_wolfe"),
    dict(lr=1, max_iter=7, history_size=2, line_search_fn="strong_wolfe"),
    dict(lr=0.5, max_iter=5, max_eval=6, line_search_fn="strong_wolfe"),
    dict(max_iter=30, tolerance_change=1e-4, tolerance_grad=1e-3, line_search_fn="strong_wolfe"),
]


@pytest.mark.parametrize("kw", CONFIGS, ids=[str(i) for i in range(len(CONFIGS))])
def test_float64_iterates_match_torch_after_every_step(kw):
    # (rounding differences of 1e-16 grow along the ill-conditioned valley: 6 steps keep them
    # far below the tolerance, while a wrong formula or line-search branch shows up at once)
    gopt, gtraj, gcalls, _ = _run(gt, kw, 6)
    topt, ttraj, tcalls, _ = _run(torch, kw, 6)
    assert len(gcalls) == len(tcalls)  # same number of closure evaluations
    np.testing.assert_allclose(gcalls, tcalls, rtol=1e-9, atol=1e-12)
    for k, (g, t) in enumerate(zip(gtraj, ttraj)):
        assert g[0] == pytest.approx(t[0], rel=1e-9, abs=1e-12), f"loss at step {k}"
        np.testing.assert_allclose(g[1], t[1], rtol=1e-8, atol=1e-9, err_msg=f"w at step {k}")
        np.testing.assert_allclose(g[2], t[2], rtol=1e-8, atol=1e-9, err_msg=f"x at step {k}")
    gs, ts = gopt.state_dict()["state"][0], topt.state_dict()["state"][0]
    assert list(gs) == list(ts)
    assert gs["func_evals"] == ts["func_evals"] and gs["n_iter"] == ts["n_iter"]
    for key in ("old_dirs", "old_stps", "ro"):
        assert len(gs[key]) == len(ts[key])
    for key in ("d", "prev_flat_grad"):
        np.testing.assert_allclose(gs[key].numpy(), ts[key].numpy(), rtol=1e-6, atol=1e-8)


def test_line_search_converges_to_rosenbrock_minimum():
    _, traj, _, _ = _run(gt, dict(line_search_fn="strong_wolfe", max_iter=50), 6)
    np.testing.assert_allclose(traj[-1][1], np.ones(5), atol=1e-5)


def test_state_types_match_torch():
    gopt, *_ = _run(gt, CONFIGS[3], 3)
    topt, *_ = _run(torch, CONFIGS[3], 3)
    gs, ts = gopt.state_dict()["state"][0], topt.state_dict()["state"][0]

    def kind(v):
        if isinstance(v, (gt.Tensor, torch.Tensor)):
            return ("tensor", tuple(v.shape))
        if isinstance(v, list):
            return ("list", len(v), kind(v[-1]) if v else None)
        return type(v).__name__
    for key in ts:
        assert kind(gs[key]) == kind(ts[key]), key
    assert gopt.state_dict()["param_groups"] == topt.state_dict()["param_groups"]


@pytest.mark.parametrize("kw", [CONFIGS[1], CONFIGS[3]], ids=["plain", "strong_wolfe"])
def test_resume_from_state_dict_equals_uninterrupted(kw):
    opt, first, _, (w, x) = _run(gt, kw, 3)
    buf = io.BytesIO()
    gt.save({"opt": opt.state_dict(), "w": w.detach(), "x": x.detach()}, buf)
    _, full, _, _ = _run(gt, kw, 6)
    buf.seek(0)
    ckpt = gt.load(buf)
    _, rest, _, _ = _run(gt, kw, 3, opt_state=ckpt["opt"],
                         start=(ckpt["w"].numpy(), ckpt["x"].numpy()))
    for a, b in zip(full[3:], rest):
        assert a[0] == b[0]
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_array_equal(a[2], b[2])


def test_float32_on_device_matches_torch(device):
    kw = dict(lr=1, max_iter=5, history_size=3, line_search_fn="strong_wolfe")
    _, gtraj, gcalls, (w, _) = _run(gt, kw, 2, device=device, dtype=np.float32)
    _, ttraj, tcalls, _ = _run(torch, kw, 2, dtype=np.float32)
    assert w.device.type == device and w.dtype == gt.float32
    assert len(gcalls) == len(tcalls)
    for g, t in zip(gtraj, ttraj):
        np.testing.assert_allclose(g[1], t[1], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(g[2], t[2], rtol=1e-4, atol=1e-5)


def test_already_optimal_returns_immediately():
    p = gt.zeros(3, requires_grad=True)
    opt = optim.LBFGS([p])
    calls = []

    def closure():
        opt.zero_grad()
        loss = (p ** 2).sum()
        loss.backward()
        calls.append(1)
        return loss
    loss = opt.step(closure)
    assert float(loss) == 0.0 and len(calls) == 1
    assert opt.state[p] == {"func_evals": 1, "n_iter": 0}


def test_errors_like_torch():
    p = gt.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": [p]}, {"params": [gt.zeros(2, requires_grad=True)]}])
    opt = optim.LBFGS([p], line_search_fn="backtracking")

    def closure():
        opt.zero_grad()
        loss = ((p - 1) ** 2).sum()
        loss.backward()
        return loss
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)
    assert optim.LBFGS([p], max_iter=8).defaults["max_eval"] == 10
