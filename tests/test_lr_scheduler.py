"""LR schedulers: same lr (and momentum) sequences as torch; state dicts resume the schedule."""
import io

import numpy as np
import pytest
import torch

import gputensor as gt
from gputensor import optim
from gputensor.optim import lr_scheduler as gsched

STEPS = 14


def _opts(opt_name="SGD", **kw):
    g = [gt.zeros(2, requires_grad=True), gt.zeros(3, requires_grad=True)]
    t = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    groups = lambda ps: [{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.5}]  # noqa: E731
    return (getattr(optim, opt_name)(groups(g), lr=0.1, **kw),
            getattr(torch.optim, opt_name)(groups(t), lr=0.1, **kw))


def _trace(opt, sched, steps=STEPS, metrics=None, key="momentum"):
    out = [(list(sched.get_last_lr()), [g.get(key) for g in opt.param_groups])]
    for k in range(steps):
        opt.step()
        sched.step(metrics[k]) if metrics is not None else sched.step()
        out.append((list(sched.get_last_lr()), [g.get(key) for g in opt.param_groups]))
    return out


def _assert_same(a, b):
    assert len(a) == len(b)
    for k, ((glr, gm), (tlr, tm)) in enumerate(zip(a, b)):
        assert glr == pytest.approx(tlr, rel=1e-12, abs=1e-15), f"lr at step {k}"
        np.testing.assert_allclose(np.asarray(gm, float), np.asarray(tm, float), rtol=1e-12,
                                   err_msg=f"momentum at step {k}")


SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01)),
    ("LinearLR", dict(start_factor=0.25, end_factor=0.9, total_iters=6)),
    ("LinearLR", dict()),
    ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (1 + e))),
    ("OneCycleLR", dict(max_lr=[1.0, 2.0], total_steps=STEPS)),
    ("OneCycleLR", dict(max_lr=1.0, epochs=2, steps_per_epoch=7, anneal_strategy="linear",
                        three_phase=True, pct_start=0.25)),
]


@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=[f"{n}-{i}" for i, (n, _) in
                                                    enumerate(SCHEDULERS)])
def test_lr_sequence_matches_torch(name, kw):
    gopt, topt = _opts(momentum=0.9)
    g = getattr(gsched, name)(gopt, **kw)
    t = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    _assert_same(_trace(gopt, g), _trace(topt, t))


def test_onecycle_cycles_adam_beta1_like_torch():
    gopt, topt = _opts("Adam")
    g = gsched.OneCycleLR(gopt, max_lr=0.3, total_steps=STEPS)
    t = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.3, total_steps=STEPS)
    _assert_same(_trace(gopt, g, key="betas"), _trace(topt, t, key="betas"))


def test_sequential_lr_matches_torch():
    gopt, topt = _opts()

    def build(mod, opt):
        warm = mod.LinearLR(opt, start_factor=0.1, total_iters=3)
        decay = mod.ExponentialLR(opt, gamma=0.8)
        cos = mod.CosineAnnealingLR(opt, T_max=4)
        return mod.SequentialLR(opt, [warm, decay, cos], milestones=[3, 8])

    _assert_same(_trace(gopt, build(gsched, gopt)),
                 _trace(topt, build(torch.optim.lr_scheduler, topt)))


@pytest.mark.parametrize("kw", [dict(patience=2), dict(mode="max", factor=0.5, patience=1,
                                                         cooldown=2, threshold_mode="abs",
                                                         threshold=0.1, min_lr=[0.01, 0.2])])
def test_reduce_on_plateau_matches_torch(kw):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.91, 0.8, 0.85, 0.85, 0.9, 0.7, 0.75, 0.76, 0.77, 0.78]
    gopt, topt = _opts()
    g = gsched.ReduceLROnPlateau(gopt, **kw)
    t = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    _assert_same(_trace(gopt, g, metrics=metrics), _trace(topt, t, metrics=metrics))


@pytest.mark.parametrize("name,kw", [("MultiStepLR", dict(milestones=[2, 4], gamma=0.5)),
                                     ("CosineAnnealingLR", dict(T_max=6)),
                                     ("OneCycleLR", dict(max_lr=1.0, total_steps=STEPS))])
def test_state_dict_resume_through_save_load(name, kw):
    gopt, _ = _opts(momentum=0.9)
    sched = getattr(gsched, name)(gopt, **kw)
    for _ in range(5):
        gopt.step()
        sched.step()
    buf = io.BytesIO()
    gt.save({"opt": gopt.state_dict(), "sched": sched.state_dict()}, buf)
    expected = _trace(gopt, sched, steps=5)[1:]
    buf.seek(0)
    ckpt = gt.load(buf)
    gopt2, _ = _opts(momentum=0.9)
    sched2 = getattr(gsched, name)(gopt2, **kw)
    gopt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    _assert_same(_trace(gopt2, sched2, steps=5)[1:], expected)


def test_lambda_state_dict_skips_plain_functions():
    gopt, _ = _opts()
    sched = gsched.LambdaLR(gopt, [lambda e: 0.5 ** e, lambda e: 1.0])
    assert sched.state_dict()["lr_lambdas"] == [None, None]
    assert "optimizer" not in sched.state_dict()


def test_epoch_argument_uses_closed_form():
    gopt, topt = _opts()
    g, t = gsched.StepLR(gopt, step_size=2), torch.optim.lr_scheduler.StepLR(topt, step_size=2)
    with pytest.warns(UserWarning):
        g.step(5)
    with pytest.warns(UserWarning):
        t.step(5)
    assert g.get_last_lr() == pytest.approx(t.get_last_lr())


def test_scheduler_errors():
    gopt, _ = _opts()
    with pytest.raises(TypeError, match="not an Optimizer"):
        gsched.StepLR(object(), step_size=1)
    with pytest.raises(KeyError, match="initial_lr"):
        gsched.StepLR(gopt, step_size=1, last_epoch=3)
    with pytest.raises(ValueError, match="total_steps"):
        gsched.OneCycleLR(gopt, max_lr=1.0)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        gsched.ReduceLROnPlateau(gopt, factor=1.5)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        gsched.LambdaLR(gopt, [lambda e: 1.0])
    one = gsched.OneCycleLR(gopt, max_lr=1.0, total_steps=2)
    one.step()
    one.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        one.step()
    assert issubclass(gsched._LRScheduler, gsched.LRScheduler)  # a subclass, as in torch
