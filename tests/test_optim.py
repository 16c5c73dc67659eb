"""Optimizers: trajectories match torch for every option combo, on cpu and (simulated) cuda."""
import io

import numpy as np
import pytest
import torch

import gputensor as gt
from gputensor import optim

SHAPES = [(3, 5), (4,)]
STEPS = 6

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.2, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.02, amsgrad=True)),
    ("Adam", dict(lr=0.02, amsgrad=True, weight_decay=0.05, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True)),
    ("AdamW", dict(lr=0.02, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, alpha=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.2)),
    ("Adagrad", dict(lr=0.1, eps=1e-6, maximize=True)),
]


def _grad_of(p: np.ndarray, k: int) -> np.ndarray:
    """A gradient that depends on the current params (so trajectories feed back) and the step."""
    noise = np.random.default_rng(100 + k).standard_normal(p.shape)
    return (2 * (p - 0.5) + 0.3 * noise).astype(np.float32)


def _init(rng) -> list[np.ndarray]:
    return [rng.standard_normal(s).astype(np.float32) for s in SHAPES]


def _run_gt(name, kw, init, device, steps=STEPS):
    params = [gt.tensor(a, device=device, requires_grad=True) for a in init]
    opt = getattr(optim, name)(params, **kw)
    traj = []
    for k in range(steps):
        for p in params:
            p.grad = gt.tensor(_grad_of(p.detach().cpu().numpy(), k), device=device)
        opt.step()
        traj.append([p.detach().cpu().numpy().copy() for p in params])
    return params, opt, traj


def _run_torch(name, kw, init, steps=STEPS):
    params = [torch.tensor(a, requires_grad=True) for a in init]
    opt = getattr(torch.optim, name)(params, **kw)
    traj = []
    for k in range(steps):
        for p in params:
            p.grad = torch.from_numpy(_grad_of(p.detach().numpy(), k))
        opt.step()
        traj.append([p.detach().numpy().copy() for p in params])
    return params, opt, traj


@pytest.mark.parametrize("name,kw", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_trajectory_matches_torch(name, kw, device, rng):
    init = _init(rng)
    gparams, gopt, gtraj = _run_gt(name, kw, init, device)
    _, topt, ttraj = _run_torch(name, kw, init)
    for k, (gs, ts) in enumerate(zip(gtraj, ttraj)):
        for g, t in zip(gs, ts):
            np.testing.assert_allclose(g, t, rtol=1e-5, atol=1e-6, err_msg=f"step {k}")
    assert gparams[0].device.type == device
    gstate, tstate = gopt.state_dict()["state"], topt.state_dict()["state"]
    assert sorted(gstate) == sorted(tstate)
    for i in tstate:
        assert sorted(gstate[i]) == sorted(tstate[i])
        for key, tv in tstate[i].items():
            gv = gstate[i][key]
            if key != "step":
                assert gv.device.type == device
            np.testing.assert_allclose(gv.detach().cpu().numpy(), tv.numpy(), rtol=1e-5,
                                       atol=1e-6)


def test_autograd_training_loop_matches_torch(device, rng):
    """``loss.backward(); opt.step(); opt.zero_grad()`` on a tiny linear regression."""
    x, y, w0 = (rng.standard_normal(s).astype(np.float32) for s in ((7, 3), (7,), (3,)))

    def losses(lib, opt_cls, dev):
        kw = {} if dev is None else {"device": dev}
        w = lib.tensor(w0, requires_grad=True, **kw)
        xs, ys = lib.tensor(x, **kw), lib.tensor(y, **kw)
        opt = opt_cls([w], lr=0.05, momentum=0.9)
        out = []
        for _ in range(5):
            opt.zero_grad()
            loss = (((xs * w).sum(1) - ys) ** 2).mean()
            loss.backward()
            opt.step()
            out.append(loss.item())
        return out, w.detach().cpu().numpy()

    g_losses, g_w = losses(gt, optim.SGD, device)
    t_losses, t_w = losses(torch, torch.optim.SGD, None)
    np.testing.assert_allclose(g_losses, t_losses, rtol=1e-5)
    np.testing.assert_allclose(g_w, t_w, rtol=1e-5, atol=1e-6)


def test_param_groups_defaults_and_per_group_lr(device, rng):
    a, b = _init(rng)
    pa = gt.tensor(a, device=device, requires_grad=True)
    pb = gt.tensor(b, device=device, requires_grad=True)
    opt = optim.SGD([{"params": [pa]}, {"params": pb, "lr": 1.0}], lr=0.1, momentum=0.5)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["lr"] == 1.0
    assert opt.param_groups[1]["momentum"] == 0.5
    pa.grad = gt.ones(3, 5, device=device)
    pb.grad = gt.ones(4, device=device)
    opt.step()
    np.testing.assert_allclose(pa.detach().cpu().numpy(), a - 0.1, rtol=1e-6)
    np.testing.assert_allclose(pb.detach().cpu().numpy(), b - 1.0, rtol=1e-6)
    pc = gt.zeros(2, device=device, requires_grad=True)
    opt.add_param_group({"params": [pc], "momentum": 0.0})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.0
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [pa]})


def test_zero_grad_and_skipping_params_without_grad(device):
    p = gt.ones(3, device=device, requires_grad=True)
    q = gt.ones(2, device=device, requires_grad=True)
    opt = optim.Adam([p, q], lr=0.1)
    p.grad = gt.ones(3, device=device)
    v = p._version.value
    opt.step()
    assert p._version.value == v + 1, "an update must bump the version counter"
    assert not opt.state.get(q), "a parameter without a gradient gets no state"
    np.testing.assert_array_equal(q.detach().cpu().numpy(), np.ones(2, np.float32))
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.cpu().numpy(), np.zeros(3, np.float32))
    opt.zero_grad()
    assert p.grad is None


def test_closure_is_called_with_grad_enabled(device):
    p = gt.tensor([1.0, -2.0, 3.0], device=device, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with gt.no_grad():
        loss = opt.step(closure)
    assert loss.item() == pytest.approx(14.0)
    np.testing.assert_allclose(p.detach().cpu().numpy(), [0.8, -1.6, 2.4], rtol=1e-6)


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                     ("Adam", dict(lr=0.01, amsgrad=True)),
                                     ("AdamW", dict(lr=0.01)),
                                     ("RMSprop", dict(lr=0.01, centered=True, momentum=0.3)),
                                     ("Adagrad", dict(lr=0.1, lr_decay=0.01))])
def test_resume_from_saved_state_dict_is_bit_identical(name, kw, device, rng):
    init = _init(rng)
    params, opt, _ = _run_gt(name, kw, init, device, steps=3)
    buf = io.BytesIO()
    gt.save({"params": [p.detach() for p in params], "opt": opt.state_dict()}, buf)
    for k in range(3, 6):  # the uninterrupted run
        for p in params:
            p.grad = gt.tensor(_grad_of(p.detach().cpu().numpy(), k), device=device)
        opt.step()
    buf.seek(0)
    ckpt = gt.load(buf)
    resumed = [t.clone().requires_grad_(True) for t in ckpt["params"]]
    opt2 = getattr(optim, name)(resumed, **kw)
    opt2.load_state_dict(ckpt["opt"])
    for k in range(3, 6):
        for p in resumed:
            p.grad = gt.tensor(_grad_of(p.detach().cpu().numpy(), k), device=device)
        opt2.step()
    for p, r in zip(params, resumed):
        assert r.device.type == device
        np.testing.assert_array_equal(p.detach().cpu().numpy(), r.detach().cpu().numpy())


def test_state_dict_format_matches_torch(rng):
    init = _init(rng)
    _, gopt, _ = _run_gt("Adam", dict(lr=0.01), init, "cpu", steps=2)
    _, topt, _ = _run_torch("Adam", dict(lr=0.01), init, steps=2)
    gsd, tsd = gopt.state_dict(), topt.state_dict()
    assert gsd["param_groups"][0]["params"] == tsd["param_groups"][0]["params"] == [0, 1]
    for key in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"):
        assert gsd["param_groups"][0][key] == tsd["param_groups"][0][key]
    assert float(gsd["state"][0]["step"]) == float(tsd["state"][0]["step"]) == 2.0


def test_load_state_dict_moves_state_to_param_device(device, rng):
    init = _init(rng)
    _, opt, _ = _run_gt("SGD", dict(lr=0.1, momentum=0.9), init, "cpu", steps=2)
    params = [gt.tensor(a, device=device, requires_grad=True) for a in init]
    opt2 = optim.SGD(params, lr=0.1, momentum=0.9)
    opt2.load_state_dict(opt.state_dict())
    assert opt2.state[params[0]]["momentum_buffer"].device.type == device


def test_load_state_dict_rejects_mismatched_groups(rng):
    a, b = _init(rng)
    pa, pb = gt.tensor(a, requires_grad=True), gt.tensor(b, requires_grad=True)
    sd = optim.SGD([pa, pb], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD([pa], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": [pa]}, {"params": [pb]}], lr=0.1).load_state_dict(sd)


def test_bad_arguments_raise_clear_errors():
    p = gt.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="Invalid lr"):
        optim.Adam([p], lr=-1.0)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        optim.SGD([np.zeros(3)], lr=0.1)
