"""Adadelta, Adamax, NAdam, RAdam, ASGD, Rprop: step-by-step trajectories, state-dict layout,
resume after ``load_state_dict`` and argument errors, all against torch."""
import io

import numpy as np
import pytest
import torch

import gputensor as gt
from gputensor import optim

SHAPES = [(3, 5), (4,)]

CONFIGS = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.3, maximize=True, foreach=False)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ("Adamax", dict(lr=0.01, maximize=True, foreach=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.9), momentum_decay=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.01)),  # rho_t crosses 5 at step 6: both branches run
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=4, weight_decay=0.1)),
    ("ASGD", dict(lr=0.05, t0=0, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
    ("Rprop", dict(lr=0.05, maximize=True, foreach=False)),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)]


def _grad_of(p: np.ndarray, k: int) -> np.ndarray:
    """A gradient that depends on the params (so trajectories feed back) and on the step; its
    noise flips signs often enough to exercise Rprop's shrink branch."""
    noise = np.random.default_rng(100 + k).standard_normal(p.shape)
    return (2 * (p - 0.5) + 0.8 * noise).astype(p.dtype)


def _init(dtype=np.float64) -> list:
    rng = np.random.default_rng(7)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _steps(lib, opt, params, k0, k1, device=None):
    traj = []
    for k in range(k0, k1):
        for p in params:
            g = _grad_of(p.detach().cpu().numpy(), k)
            p.grad = lib.tensor(g, device=device) if lib is gt else torch.from_numpy(g)
        opt.step()
        traj.append([p.detach().cpu().numpy().copy() for p in params])
    return traj


def _gt_run(name, kw, init, device="cpu", steps=15):
    params = [gt.tensor(a, device=device, requires_grad=True) for a in init]
    opt = getattr(optim, name)(params, **kw)
    return params, opt, _steps(gt, opt, params, 0, steps, device)


def _torch_run(name, kw, init, steps=15):
    params = [torch.tensor(a, requires_grad=True) for a in init]
    opt = getattr(torch.optim, name)(params, **kw)
    return params, opt, _steps(torch, opt, params, 0, steps)


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_float64_trajectory_matches_torch_every_step(name, kw):
    init = _init()
    _, _, gtraj = _gt_run(name, kw, init)
    _, _, ttraj = _torch_run(name, kw, init)
    for k, (gs, ts) in enumerate(zip(gtraj, ttraj)):
        for g, t in zip(gs, ts):
            np.testing.assert_allclose(g, t, rtol=1e-11, atol=1e-13, err_msg=f"step {k}")


@pytest.mark.parametrize("name,kw", [CONFIGS[i] for i in (1, 4, 7, 10, 13, 16)],
                         ids=[IDS[i] for i in (1, 4, 7, 10, 13, 16)])
def test_float32_on_device_matches_torch(name, kw, device):
    init = _init(np.float32)
    gparams, _, gtraj = _gt_run(name, kw, init, device, steps=8)
    _, _, ttraj = _torch_run(name, kw, init, steps=8)
    assert gparams[0].device.type == device
    for k, (gs, ts) in enumerate(zip(gtraj, ttraj)):
        for g, t in zip(gs, ts):
            assert g.dtype == np.float32
            np.testing.assert_allclose(g, t, rtol=2e-5, atol=2e-6, err_msg=f"step {k}")


def _describe(v):
    if isinstance(v, (gt.Tensor, torch.Tensor)):
        return ("tensor", str(v.dtype).split(".")[-1], tuple(v.shape))
    return (type(v).__name__,)


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_state_dict_layout_matches_torch(name, kw):
    init = _init()
    _, gopt, _ = _gt_run(name, kw, init, steps=3)
    _, topt, _ = _torch_run(name, kw, init, steps=3)
    gsd, tsd = gopt.state_dict(), topt.state_dict()
    assert gsd["param_groups"] == tsd["param_groups"]
    assert sorted(gsd["state"]) == sorted(tsd["state"])
    for i, ts in tsd["state"].items():
        gs = gsd["state"][i]
        assert list(gs) == list(ts)
        for key in ts:
            assert _describe(gs[key]) == _describe(ts[key]), key
            np.testing.assert_allclose(gs[key].detach().cpu().numpy(), ts[key].numpy(),
                                       rtol=1e-11, atol=1e-13, err_msg=key)


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_resume_after_load_state_dict_equals_uninterrupted(name, kw, device):
    init = _init()
    params, opt, _ = _gt_run(name, kw, init, device, steps=4)
    buf = io.BytesIO()
    gt.save({"params": [p.detach() for p in params], "opt": opt.state_dict()}, buf)
    full = _steps(gt, opt, params, 4, 8, device)
    buf.seek(0)
    ckpt = gt.load(buf)
    resumed = [t.clone().requires_grad_(True) for t in ckpt["params"]]
    opt2 = getattr(optim, name)(resumed, lr=0.123)  # hyper-parameters come from the checkpoint
    opt2.load_state_dict(ckpt["opt"])
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    again = _steps(gt, opt2, resumed, 4, 8, device)

    # torch's own resume, for reference: loading casts float32 scalar state (NAdam's
    # mu_product, ASGD's eta and mu) to the params' float64, so it is not bit-identical there.
    tparams, topt, _ = _torch_run(name, kw, init, steps=4)
    tbuf = io.BytesIO()
    torch.save(topt.state_dict(), tbuf)
    tbuf.seek(0)
    topt2 = getattr(torch.optim, name)(tparams, lr=0.123)
    topt2.load_state_dict(torch.load(tbuf))
    tagain = _steps(torch, topt2, tparams, 4, 8)
    for key, tv in topt2.state[tparams[0]].items():
        assert _describe(opt2.state[resumed[0]][key]) == _describe(tv), key
    exact = name not in ("NAdam", "ASGD")
    for a, b, c in zip(full, again, tagain):
        for x, y, z in zip(a, b, c):
            np.testing.assert_allclose(y, z, rtol=1e-11, atol=1e-13)
            if exact:
                np.testing.assert_array_equal(x, y)
            else:
                np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12)


def test_torch_state_dict_loads_into_gputensor():
    """A checkpoint written by torch's optimizer (as numpy) continues the same trajectory."""
    init = _init()
    tparams, topt, _ = _torch_run("NAdam", dict(lr=0.01), init, steps=4)
    tsd = topt.state_dict()
    gsd = {"param_groups": tsd["param_groups"],
           "state": {i: {k: gt.tensor(v.numpy()) for k, v in s.items()}
                     for i, s in tsd["state"].items()}}
    gparams = [gt.tensor(p.detach().numpy(), requires_grad=True) for p in tparams]
    gopt = optim.NAdam(gparams)
    gopt.load_state_dict(gsd)
    topt2 = torch.optim.NAdam(tparams)
    topt2.load_state_dict(tsd)  # (casts mu_product to float64 on both sides)
    gtraj = _steps(gt, gopt, gparams, 4, 9)
    ttraj = _steps(torch, topt2, tparams, 4, 9)
    for gs, ts in zip(gtraj, ttraj):
        for g, t in zip(gs, ts):
            np.testing.assert_allclose(g, t, rtol=1e-11, atol=1e-13)


BAD = [
    ("Adadelta", dict(lr=-1.0)), ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(eps=-1.0)),
    ("Adadelta", dict(weight_decay=-0.1)),
    ("Adamax", dict(lr=-0.1)), ("Adamax", dict(betas=(1.0, 0.9))),
    ("Adamax", dict(betas=(0.9, -0.1))), ("Adamax", dict(eps=-1e-8)),
    ("Adamax", dict(weight_decay=-1)),
    ("NAdam", dict(lr=-0.1)), ("NAdam", dict(momentum_decay=-1.0)),
    ("NAdam", dict(betas=(0.9, 1.0))), ("NAdam", dict(weight_decay=-1.0)),
    ("RAdam", dict(lr=-0.1)), ("RAdam", dict(eps=-0.1)), ("RAdam", dict(betas=(-0.1, 0.9))),
    ("ASGD", dict(lr=-0.1)), ("ASGD", dict(weight_decay=-0.1)),
    ("Rprop", dict(lr=-0.1)), ("Rprop", dict(etas=(1.2, 0.5))), ("Rprop", dict(etas=(0.0, 1.2))),
    ("LBFGS", dict(lr=-1.0)),
]


@pytest.mark.parametrize("name,kw", BAD, ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD)])
def test_invalid_arguments_raise_like_torch(name, kw):
    with pytest.raises(Exception) as texc:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kw)
    with pytest.raises(type(texc.value)) as gexc:
        getattr(optim, name)([gt.zeros(2, requires_grad=True)], **kw)
    assert str(gexc.value) == str(texc.value)


def test_tensor_lr_must_have_one_element():
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        optim.Adamax([gt.zeros(2, requires_grad=True)], lr=gt.tensor([0.1, 0.2]))


def test_defaults_match_torch():
    for name in ("Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop", "LBFGS"):
        g = getattr(optim, name)([gt.zeros(2, requires_grad=True)])
        t = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)])
        assert g.defaults == t.defaults, name
        assert g.param_groups[0].keys() == t.param_groups[0].keys(), name
