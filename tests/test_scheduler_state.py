"""Every lr scheduler's ``state_dict`` / ``load_state_dict``: stop after k steps, checkpoint the
optimizer and the scheduler (through ``gt.save``/``gt.load``), rebuild both, load, continue,
and the lr (and momentum) sequence equals the uninterrupted run and torch's, for every k."""
import copy
import io

import pytest
import torch

import gputensor as gt
from gputensor import optim
from gputensor.optim import lr_scheduler as gsched

STEPS = 12
METRICS = [1.0, 0.9, 0.95, 0.95, 0.96, 0.8, 0.85, 0.85, 0.9, 0.7, 0.75, 0.76, 0.77, 0.78]


class Halve:
    """A callable object: LambdaLR saves its ``__dict__`` (plain functions are skipped)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, epoch):
        self.calls += 1
        return 0.5 ** (epoch // 3)


def _sequential(mod, opt):
    return mod.SequentialLR(opt, [mod.LinearLR(opt, start_factor=0.2, total_iters=3),
                                  mod.ExponentialLR(opt, gamma=0.8),
                                  mod.StepLR(opt, step_size=2, gamma=0.5)], milestones=[3, 7])


BUILDERS = {
    "LambdaLR-fn": lambda mod, opt: mod.LambdaLR(opt, lambda e: 0.9 ** e),
    "LambdaLR-obj": lambda mod, opt: mod.LambdaLR(opt, [Halve(), lambda e: 1.0 / (1 + e)]),
    "StepLR": lambda mod, opt: mod.StepLR(opt, step_size=3, gamma=0.5),
    "MultiStepLR": lambda mod, opt: mod.MultiStepLR(opt, milestones=[2, 5, 5, 9], gamma=0.3),
    "ExponentialLR": lambda mod, opt: mod.ExponentialLR(opt, gamma=0.85),
    "LinearLR": lambda mod, opt: mod.LinearLR(opt, start_factor=0.25, end_factor=0.9,
                                              total_iters=6),
    "CosineAnnealingLR": lambda mod, opt: mod.CosineAnnealingLR(opt, T_max=4, eta_min=0.01),
    "OneCycleLR": lambda mod, opt: mod.OneCycleLR(opt, max_lr=[1.0, 2.0], total_steps=STEPS),
    "OneCycleLR-3phase": lambda mod, opt: mod.OneCycleLR(
        opt, max_lr=1.0, epochs=3, steps_per_epoch=4, anneal_strategy="linear",
        three_phase=True, pct_start=0.25),
    "SequentialLR": _sequential,
    "ReduceLROnPlateau": lambda mod, opt: mod.ReduceLROnPlateau(opt, patience=1, cooldown=1,
                                                                factor=0.5),
}
OPTIMS = {"OneCycleLR-3phase": "Adam"}


def _make(lib, name):
    params = [lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)]
    opt_cls = getattr(optim if lib is gt else torch.optim, OPTIMS.get(name, "SGD"))
    kw = {} if OPTIMS.get(name) == "Adam" else dict(momentum=0.9)
    opt = opt_cls([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.5}], lr=0.1, **kw)
    return opt, BUILDERS[name](gsched if lib is gt else torch.optim.lr_scheduler, opt)


def _advance(opt, sched, k0, k1):
    out = []
    for k in range(k0, k1):
        opt.step()
        if isinstance(sched, (gsched.ReduceLROnPlateau,
                              torch.optim.lr_scheduler.ReduceLROnPlateau)):
            sched.step(METRICS[k])
        else:
            sched.step()
        out.append([(g["lr"], g.get("momentum", g.get("betas"))) for g in opt.param_groups])
    return out


def _same(a, b):
    assert len(a) == len(b)
    for k, (x, y) in enumerate(zip(a, b)):
        for (lr1, m1), (lr2, m2) in zip(x, y):
            assert lr1 == pytest.approx(lr2, rel=1e-12, abs=1e-15), f"lr at step {k}"
            assert m1 == pytest.approx(m2, rel=1e-12), f"momentum at step {k}"


@pytest.mark.parametrize("name", list(BUILDERS))
def test_uninterrupted_sequence_matches_torch(name):
    gopt, g = _make(gt, name)
    topt, t = _make(torch, name)
    _same(_advance(gopt, g, 0, STEPS), _advance(topt, t, 0, STEPS))
    assert g.get_last_lr() == pytest.approx(t.get_last_lr())


@pytest.mark.parametrize("k", [1, 4, 7])
@pytest.mark.parametrize("name", list(BUILDERS))
def test_resume_through_checkpoint_equals_uninterrupted(name, k):
    topt, t = _make(torch, name)
    reference = _advance(topt, t, 0, STEPS)

    gopt, g = _make(gt, name)
    head = _advance(gopt, g, 0, k)
    buf = io.BytesIO()
    gt.save({"opt": gopt.state_dict(), "sched": g.state_dict()}, buf)
    tail = _advance(gopt, g, k, STEPS)  # the uninterrupted run goes on
    buf.seek(0)
    ckpt = gt.load(buf)
    gopt2, g2 = _make(gt, name)
    gopt2.load_state_dict(ckpt["opt"])
    g2.load_state_dict(ckpt["sched"])
    assert g2.last_epoch == g.last_epoch - (STEPS - k)
    assert g2.get_last_lr() == pytest.approx([lr for lr, _ in head[-1]])
    resumed = _advance(gopt2, g2, k, STEPS)
    _same(resumed, tail)
    _same(head + resumed, reference)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_state_dict_core_entries_match_torch(name):
    gopt, g = _make(gt, name)
    topt, t = _make(torch, name)
    _advance(gopt, g, 0, 5)
    _advance(topt, t, 0, 5)
    gsd, tsd = g.state_dict(), t.state_dict()
    assert "optimizer" not in gsd
    for key in ("last_epoch", "base_lrs", "_last_lr", "_step_count", "best", "num_bad_epochs",
                "cooldown_counter", "_milestones", "total_steps"):
        if key in tsd:
            assert key in gsd, key
            assert gsd[key] == pytest.approx(tsd[key]), key
    # state_dict is a snapshot: stepping on does not change an earlier one
    snap = copy.deepcopy(gsd)
    _advance(gopt, g, 5, 7)
    assert gsd["last_epoch"] == snap["last_epoch"]


def test_lambda_callable_object_state_is_restored():
    gopt, g = _make(gt, "LambdaLR-obj")
    _advance(gopt, g, 0, 4)
    sd = g.state_dict()
    assert sd["lr_lambdas"][0] == {"calls": 5} and sd["lr_lambdas"][1] is None
    gopt2, g2 = _make(gt, "LambdaLR-obj")
    g2.load_state_dict(sd)
    assert g2.lr_lambdas[0].calls == 5


def test_sequential_state_dict_holds_child_states():
    gopt, g = _make(gt, "SequentialLR")
    topt, t = _make(torch, "SequentialLR")
    _advance(gopt, g, 0, 5)
    _advance(topt, t, 0, 5)
    gs, ts = g.state_dict()["_schedulers"], t.state_dict()["_schedulers"]
    assert len(gs) == len(ts) == 3
    for a, b in zip(gs, ts):
        assert a["last_epoch"] == b["last_epoch"]
        assert a["_last_lr"] == pytest.approx(b["_last_lr"])
