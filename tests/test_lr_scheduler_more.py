"""MultiplicativeLR, ConstantLR, PolynomialLR, CosineAnnealingWarmRestarts, CyclicLR and
ChainedScheduler against torch, step for step: lr and momentum/betas sequences with several
optimizers and param groups, checkpoint resume, state-dict keys, validation errors, warnings."""
import io
import warnings

import numpy as np
import pytest
import torch

import gputensor as gt
from gputensor import optim
from gputensor.optim import lr_scheduler as gsched

STEPS = 40
TSCHED = torch.optim.lr_scheduler


class Scale:
    """A stateful callable object: its ``__dict__`` travels in the state dict (a lambda does not)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return 0.8 ** x


BUILDERS = {
    "Multiplicative": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.95),
    "Multiplicative-list": lambda m, o: m.MultiplicativeLR(
        o, [lambda e: 0.9, lambda e: 1.0 if e % 3 else 0.5]),
    "Constant": lambda m, o: m.ConstantLR(o),
    "Constant-7": lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=7),
    "Polynomial": lambda m, o: m.PolynomialLR(o),
    "Polynomial-25": lambda m, o: m.PolynomialLR(o, total_iters=25, power=0.9),
    "WarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5),
    "WarmRestarts-mult": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2,
                                                                    eta_min=0.01),
    "Cyclic": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "Cyclic-tri2": lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=[0.1, 0.3],
                                           step_size_up=3, step_size_down=5,
                                           mode="triangular2"),
    "Cyclic-exp": lambda m, o: m.CyclicLR(o, 0.001, 0.01, step_size_up=5, mode="exp_range",
                                          gamma=0.9, base_momentum=[0.7, 0.75],
                                          max_momentum=0.95),
    "Cyclic-fn-iter": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                              scale_fn=lambda x: 1 / (1 + 0.1 * x),
                                              scale_mode="iterations"),
    "Cyclic-obj-cycle": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=2, mode="bogus",
                                                scale_fn=Scale()),
    "Cyclic-nomom": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=6,
                                            cycle_momentum=False),
    "Chained": lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.1, total_iters=5),
                                                m.ExponentialLR(o, gamma=0.9)]),
    "Chained-3": lambda m, o: m.ChainedScheduler(
        [m.CosineAnnealingWarmRestarts(o, T_0=4), m.MultiplicativeLR(o, lambda e: 0.99),
         m.PolynomialLR(o, total_iters=30, power=2.0)], optimizer=o),
}
OPTIMIZERS = {"SGD": dict(momentum=0.9), "Adam": {}, "RMSprop": dict(momentum=0.5)}


def _make(lib, name, opt_name="SGD"):
    params = [lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)]
    opt = getattr(optim if lib is gt else torch.optim, opt_name)(
        [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.5}], lr=0.1,
        **OPTIMIZERS[opt_name])
    return opt, BUILDERS[name](gsched if lib is gt else TSCHED, opt)


def _advance(opt, sched, k0, k1):
    out = []
    for _ in range(k0, k1):
        opt.step()
        sched.step()
        out.append((list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups],
                    [g.get("momentum", g.get("betas")) for g in opt.param_groups]))
    return out


def _same(a, b):
    assert len(a) == len(b)
    for k, ((last1, lr1, m1), (last2, lr2, m2)) in enumerate(zip(a, b)):
        assert last1 == pytest.approx(last2, rel=1e-13, abs=1e-16), f"get_last_lr at step {k}"
        assert lr1 == pytest.approx(lr2, rel=1e-13, abs=1e-16), f"lr at step {k}"
        np.testing.assert_allclose(np.asarray(m1, float), np.asarray(m2, float), rtol=1e-13,
                                   err_msg=f"momentum at step {k}")


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
@pytest.mark.parametrize("name", list(BUILDERS))
def test_sequence_matches_torch(name, opt_name):
    gopt, g = _make(gt, name, opt_name)
    topt, t = _make(torch, name, opt_name)
    assert g.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-13)
    assert [x["lr"] for x in gopt.param_groups] == pytest.approx([x["lr"] for x in
                                                                  topt.param_groups])
    _same(_advance(gopt, g, 0, STEPS), _advance(topt, t, 0, STEPS))


@pytest.mark.parametrize("k", [1, 6, 17])
@pytest.mark.parametrize("name", list(BUILDERS))
def test_resume_from_checkpoint_equals_uninterrupted(name, k):
    opt_name = "Adam" if name == "Cyclic-exp" else "SGD"
    topt, t = _make(torch, name, opt_name)
    reference = _advance(topt, t, 0, STEPS)
    gopt, g = _make(gt, name, opt_name)
    head = _advance(gopt, g, 0, k)
    buf = io.BytesIO()
    gt.save({"opt": gopt.state_dict(), "sched": g.state_dict()}, buf)
    tail = _advance(gopt, g, k, STEPS)
    buf.seek(0)
    ckpt = gt.load(buf)
    gopt2, g2 = _make(gt, name, opt_name)
    gopt2.load_state_dict(ckpt["opt"])
    g2.load_state_dict(ckpt["sched"])
    assert g2.get_last_lr() == pytest.approx(head[-1][0])
    resumed = _advance(gopt2, g2, k, STEPS)
    _same(resumed, tail)
    _same(head + resumed, reference)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_state_dict_layout_matches_torch(name):
    gopt, g = _make(gt, name)
    topt, t = _make(torch, name)
    _advance(gopt, g, 0, 7)
    _advance(topt, t, 0, 7)
    gsd, tsd = g.state_dict(), t.state_dict()
    assert set(gsd) == set(tsd)
    for key, want in tsd.items():
        if key == "_schedulers":
            for a, b in zip(gsd[key], want):
                assert set(a) == set(b)
                assert a["last_epoch"] == b["last_epoch"]
        elif isinstance(want, (int, float, list)) and key != "lr_lambdas":
            assert gsd[key] == pytest.approx(want), key


def test_callable_scale_fn_state_is_saved_and_restored():
    gopt, g = _make(gt, "Cyclic-obj-cycle")
    topt, t = _make(torch, "Cyclic-obj-cycle")
    _advance(gopt, g, 0, 5)
    _advance(topt, t, 0, 5)
    assert g.state_dict()["_scale_fn_custom"] == t.state_dict()["_scale_fn_custom"]
    assert g.state_dict()["_scale_fn_custom"]["calls"] > 0
    gopt2, g2 = _make(gt, "Cyclic-obj-cycle")
    g2.load_state_dict(g.state_dict())
    assert g2._scale_fn_custom.calls == g._scale_fn_custom.calls
    assert gsched.CyclicLR(gopt, 0.1, 1.0, scale_fn=lambda x: 1.0,
                           mode="x").state_dict()["_scale_fn_custom"] is None


def test_warm_restarts_fractional_and_jumping_epochs():
    scheds = []
    for lib, mod in ((gt, gsched), (torch, TSCHED)):
        o = (optim if lib is gt else torch.optim).SGD([lib.zeros(2, requires_grad=True)], lr=0.3)
        scheds.append((o, mod.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.02)))
    seqs = []
    for o, s in scheds:
        out = []
        for epoch in range(6):
            for i in range(4):
                o.step()
                s.step(epoch + i / 4)
                out.append((s.get_last_lr()[0], s.T_cur, s.T_i, s.last_epoch))
        s.step(26)
        s.step()
        out.append((s.get_last_lr()[0], s.T_cur, s.T_i, s.last_epoch))
        seqs.append(out)
    for a, b in zip(*seqs):
        assert a == pytest.approx(b, rel=1e-13)


@pytest.mark.parametrize("name,epoch", [("Constant-7", 3), ("Constant-7", 9),
                                        ("Polynomial-25", 11), ("Polynomial-25", 30)])
def test_epoch_argument_uses_closed_form_and_warns(name, epoch):
    gopt, g = _make(gt, name)
    topt, t = _make(torch, name)
    gopt.step()
    topt.step()
    with pytest.warns(UserWarning, match="epoch parameter in `scheduler.step\\(\\)`"):
        g.step(epoch)
    with pytest.warns(UserWarning):
        t.step(epoch)
    assert g.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-13)


def _both(fn):
    """The exception ``fn(lib, sched_module, optimizer)`` raises with torch and with gputensor."""
    errs = []
    for lib, mod in ((torch, TSCHED), (gt, gsched)):
        o = (optim if lib is gt else torch.optim).SGD(
            [{"params": [lib.zeros(2, requires_grad=True)]},
             {"params": [lib.zeros(1, requires_grad=True)]}], lr=0.1)
        with pytest.raises(Exception) as info:
            fn(lib, mod, o)
        errs.append(info.value)
    return errs


ERRORS = {
    "constant-factor": lambda lib, m, o: m.ConstantLR(o, factor=1.5),
    "constant-negative": lambda lib, m, o: m.ConstantLR(o, factor=-0.1),
    "warm-T0": lambda lib, m, o: m.CosineAnnealingWarmRestarts(o, T_0=0),
    "warm-T0-float": lambda lib, m, o: m.CosineAnnealingWarmRestarts(o, T_0=2.5),
    "warm-Tmult": lambda lib, m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
    "warm-eta": lambda lib, m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="0"),
    "warm-negative-epoch": lambda lib, m, o: m.CosineAnnealingWarmRestarts(o, 2).step(-1),
    "cyclic-mode": lambda lib, m, o: m.CyclicLR(o, 0.1, 1.0, mode="sine"),
    "cyclic-lengths": lambda lib, m, o: m.CyclicLR(o, [0.1], 1.0),
    "cyclic-max-lengths": lambda lib, m, o: m.CyclicLR(o, 0.1, [1.0, 2.0, 3.0]),
    "cyclic-no-momentum": lambda lib, m, o: m.CyclicLR(
        (optim if lib is gt else torch.optim).Adagrad([lib.zeros(1, requires_grad=True)]),
        0.1, 1.0),
    "cyclic-not-optimizer": lambda lib, m, o: m.CyclicLR(object(), 0.1, 1.0),
    "multiplicative-not-callable": lambda lib, m, o: m.MultiplicativeLR(o, 0.9),
    "multiplicative-count": lambda lib, m, o: m.MultiplicativeLR(o, [lambda e: 1.0]),
    "lambda-count": lambda lib, m, o: m.LambdaLR(o, [lambda e: 1.0] * 3),
    "chained-empty": lambda lib, m, o: m.ChainedScheduler([]),
    "chained-plateau": lambda lib, m, o: m.ChainedScheduler(
        [m.ConstantLR(o), m.ReduceLROnPlateau(o)]),
    "resume-without-initial-lr": lambda lib, m, o: m.PolynomialLR(o, last_epoch=3),
    "chained-no-optimizer": lambda lib, m, o: m.ChainedScheduler([m.ConstantLR(o), object()]),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_validation_errors_match_torch(case):
    want, got = _both(ERRORS[case])
    assert type(got) is type(want)
    assert str(got) == str(want)


def test_chained_rejects_schedulers_of_other_optimizers():
    def build(lib, m, o):
        other = (optim if lib is gt else torch.optim).SGD([lib.zeros(1, requires_grad=True)],
                                                          lr=0.1)
        m.ChainedScheduler([m.ConstantLR(o), m.ExponentialLR(other, 0.9)])
    want, got = _both(build)
    assert type(got) is type(want) is ValueError
    prefix = str(want).split(" has ")[0]
    assert str(got).startswith(prefix) and str(got).endswith("different from SGD.")


@pytest.mark.parametrize("name", ["Constant", "Polynomial", "Cyclic", "Multiplicative",
                                  "WarmRestarts"])
def test_order_and_get_lr_warnings_match_torch(name):
    for lib in (torch, gt):
        opt, s = _make(lib, name)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            s.step()  # before any optimizer.step()
            s.step()
        msgs = [str(w.message) for w in rec]
        if name == "WarmRestarts":  # overrides step(): torch never checks the order there
            assert msgs == [], lib
        else:
            assert len(msgs) == 1 and msgs[0].startswith(
                "Detected call of `lr_scheduler.step()` before `optimizer.step()`"), lib
        with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
            s.get_lr()
        opt, s = _make(lib, name)
        opt.step()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            s.step()
            s.step()
        opt, s = _make(lib, name)
        opt.step = lambda *a, **k: None  # replaced after the scheduler wrapped it
        if name != "WarmRestarts":
            with pytest.warns(UserWarning, match="Seems like `optimizer.step\\(\\)` has been "
                                                 "overridden"):
                s.step()


def test_public_names_match_torch():
    assert set(TSCHED.__all__) <= set(gsched.__all__)
    for name in TSCHED.__all__:
        cls = getattr(gsched, name)
        assert cls.__name__ == name
        assert issubclass(cls, gsched.LRScheduler)
    assert gsched._LRScheduler.__name__ == "_LRScheduler"
    assert issubclass(gsched._LRScheduler, gsched.LRScheduler)
    import gputensor as torch_like
    assert torch_like.optim.lr_scheduler.CyclicLR is gsched.CyclicLR


def test_cyclic_sets_initial_lr_and_momentum_like_torch():
    for opt_name, key in (("SGD", "momentum"), ("Adam", "betas")):
        gopt, g = _make(gt, "Cyclic-exp", opt_name)
        topt, t = _make(torch, "Cyclic-exp", opt_name)
        for a, b in zip(gopt.param_groups, topt.param_groups):
            for k in ("lr", "initial_lr", "max_momentum", "base_momentum", key):
                np.testing.assert_allclose(np.asarray(a[k], float), np.asarray(b[k], float),
                                           rtol=1e-13, err_msg=f"{opt_name} {k}")
        assert g.base_lrs == pytest.approx(t.base_lrs)


def test_chained_composes_with_other_schedulers_in_a_training_loop():
    """A real loop: the model trains with the chained schedule and the lr follows torch."""
    losses, lrs = {}, {}
    for lib, mod in ((gt, gsched), (torch, TSCHED)):
        lib.manual_seed(0)
        w = lib.tensor([[1.5, -2.0, 0.5]], requires_grad=True)
        x = lib.tensor([[0.1, 0.2, 0.3], [1.0, -1.0, 0.5], [0.0, 2.0, -1.0]])
        opt = (optim if lib is gt else torch.optim).SGD([w], lr=0.1, momentum=0.5)
        s = mod.ChainedScheduler([mod.ConstantLR(opt, factor=0.5, total_iters=3),
                                  mod.CosineAnnealingWarmRestarts(opt, T_0=5)])
        seq, lr_seq = [], []
        for _ in range(20):
            opt.zero_grad()
            loss = ((x @ w.T) ** 2).sum()
            loss.backward()
            opt.step()
            s.step()
            seq.append(loss.item())
            lr_seq.append(s.get_last_lr()[0])
        losses[lib.__name__], lrs[lib.__name__] = seq, lr_seq
    assert lrs["gputensor"] == pytest.approx(lrs["torch"], rel=1e-12)
    assert losses["gputensor"] == pytest.approx(losses["torch"], rel=1e-5)
    assert losses["gputensor"][-1] < 0.1 * losses["gputensor"][0]
