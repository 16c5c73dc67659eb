"""Sequential / ModuleList / ModuleDict mutation, replayed on torch and gputensor: after every
operation the registered keys, the modules behind them, the state_dict keys and any error
(type and message) must be the same."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import gputensor as gt


def _lin(lib, i):
    return lib.nn.Linear(i + 1, i + 2)


def _describe(obj):
    """A container (or module) as library-independent data."""
    if isinstance(obj, (gt.nn.Linear, torch.nn.Linear)):
        return ("Linear", obj.in_features)
    if isinstance(obj, (gt.nn.Module, torch.nn.Module)):
        return (type(obj).__name__, [(k, _describe(m)) for k, m in obj._modules.items()],
                [(k, tuple(v.shape)) for k, v in obj.state_dict().items()])
    return obj


def _replay(build, ops):
    """Apply ``ops`` to a torch-built and a gputensor-built container; compare after each."""
    tc, gc = build(torch), build(gt)
    assert _describe(gc) == _describe(tc)
    for i, op in enumerate(ops):
        results = []
        for lib, c in ((torch, tc), (gt, gc)):
            try:
                results.append(("ok", op(lib, c)))
            except Exception as e:  # compare the failure itself
                msg = str(e).replace("gputensor.nn.modules", "torch.nn.modules")
                results.append(("error", type(e).__name__, msg))
        (tr, gr) = results
        if tr[0] == "ok" and gr[0] == "ok":
            tv, gv = tr[1], gr[1]
            if isinstance(tv, (torch.nn.Module,)) and (tv is tc) != (gv is gc):
                pytest.fail(f"op {i}: returned self in only one library")
            assert _describe(gv) == _describe(tv), f"op {i} result"
        else:
            assert gr == tr, f"op {i}"
        assert _describe(gc) == _describe(tc), f"op {i}"


def _seq(lib, n=4):
    return lib.nn.Sequential(*[_lin(lib, i) for i in range(n)])


SEQUENTIAL_OPS = {
    "append": [lambda lib, s: s.append(_lin(lib, 10)), lambda lib, s: s.append(_lin(lib, 11))],
    "extend": [lambda lib, s: s.extend([_lin(lib, 10), _lin(lib, 11)]),
               lambda lib, s: s.extend(_seq(lib, 2))],
    "insert": [lambda lib, s: s.insert(0, _lin(lib, 10)),
               lambda lib, s: s.insert(2, _lin(lib, 11)),
               lambda lib, s: s.insert(-1, _lin(lib, 12)),
               lambda lib, s: s.insert(len(s), _lin(lib, 13)),
               lambda lib, s: s.insert(-len(s), _lin(lib, 14)),
               lambda lib, s: s.insert(99, _lin(lib, 15)),
               lambda lib, s: s.insert(-99, _lin(lib, 15))],
    "setitem": [lambda lib, s: s.__setitem__(1, _lin(lib, 10)),
                lambda lib, s: s.__setitem__(-1, _lin(lib, 11)),
                lambda lib, s: s.__setitem__(4, _lin(lib, 12)),
                lambda lib, s: s.__setitem__(-5, _lin(lib, 12))],
    "delitem": [lambda lib, s: s.__delitem__(1), lambda lib, s: s.__delitem__(-1),
                lambda lib, s: s.__delitem__(7)],
    "delslice": [lambda lib, s: s.__delitem__(slice(1, 3))],
    "delstep": [lambda lib, s: s.__delitem__(slice(None, None, 2))],
    "getitem": [lambda lib, s: s[2], lambda lib, s: s[-4], lambda lib, s: s[4],
                lambda lib, s: s[-5], lambda lib, s: s[1:3], lambda lib, s: s[::-2],
                lambda lib, s: s[10:]],
    "pop": [lambda lib, s: s.pop(0), lambda lib, s: s.pop(-1), lambda lib, s: s.pop(slice(0, 1)),
            lambda lib, s: s.pop(5)],
    "add": [lambda lib, s: s + _seq(lib, 2), lambda lib, s: s + [_lin(lib, 3)]],
    "iadd": [lambda lib, s: s.__iadd__(_seq(lib, 2)), lambda lib, s: s.__iadd__([_lin(lib, 1)])],
    "mul": [lambda lib, s: s * 2, lambda lib, s: 2 * s, lambda lib, s: s * 0,
            lambda lib, s: s.__imul__(2), lambda lib, s: s.__imul__(-1)],
    "mixed": [lambda lib, s: s.append(_lin(lib, 10)), lambda lib, s: s.__delitem__(0),
              lambda lib, s: s.insert(1, _lin(lib, 11)), lambda lib, s: s.pop(2),
              lambda lib, s: s.__setitem__(0, _lin(lib, 12)), lambda lib, s: len(s)],
}


@pytest.mark.parametrize("case", list(SEQUENTIAL_OPS))
def test_sequential_mutation_matches_torch(case):
    _replay(_seq, SEQUENTIAL_OPS[case])


def test_sequential_named_slicing_and_deletion_renumbers_like_torch():
    def build(lib):
        return lib.nn.Sequential(OrderedDict([("conv", _lin(lib, 0)), ("act", lib.nn.ReLU()),
                                              ("head", _lin(lib, 2))]))
    _replay(build, [lambda lib, s: s[1:], lambda lib, s: s[0],
                    lambda lib, s: s.__setitem__(1, lib.nn.Tanh()),
                    lambda lib, s: s.append(_lin(lib, 7)),
                    lambda lib, s: s.__delitem__(0)])  # deleting renumbers every key


def test_sequential_still_runs_after_mutation():
    g, t = _seq(gt, 3), _seq(torch, 3)
    for lib, s in ((gt, g), (torch, t)):
        s.__setitem__(1, lib.nn.Linear(2, 3))
        del s[2]
        s.append(lib.nn.Tanh())
    g.load_state_dict({k: gt.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 2)).astype(np.float32)
    g2, t2 = gt.nn.Sequential(*list(g)[1:]), torch.nn.Sequential(*list(t)[1:])
    np.testing.assert_allclose(g2(gt.tensor(x)).detach().numpy(),
                               t2(torch.tensor(x)).detach().numpy(), rtol=1e-6)


def _mlist(lib, n=4):
    return lib.nn.ModuleList([_lin(lib, i) for i in range(n)])


MODULELIST_OPS = {
    "append": [lambda lib, m: m.append(_lin(lib, 10)), lambda lib, m: len(m)],
    "extend": [lambda lib, m: m.extend([_lin(lib, 10)]), lambda lib, m: m.extend(_mlist(lib, 2)),
               lambda lib, m: m.extend(5)],
    "iadd": [lambda lib, m: m.__iadd__([_lin(lib, 10), _lin(lib, 11)])],
    "add": [lambda lib, m: m + _mlist(lib, 2), lambda lib, m: m + [_lin(lib, 9)]],
    "insert": [lambda lib, m: m.insert(0, _lin(lib, 10)), lambda lib, m: m.insert(3, _lin(lib, 11)),
               lambda lib, m: m.insert(len(m), _lin(lib, 12))],
    "setitem": [lambda lib, m: m.__setitem__(0, _lin(lib, 10)),
                lambda lib, m: m.__setitem__(-2, _lin(lib, 11)),
                lambda lib, m: m.__setitem__(4, _lin(lib, 12))],
    "delitem": [lambda lib, m: m.__delitem__(0), lambda lib, m: m.__delitem__(-1),
                lambda lib, m: m.__delitem__(slice(0, 2)), lambda lib, m: m.__delitem__(3)],
    "delstep": [lambda lib, m: m.__delitem__(slice(None, None, -2))],
    "getitem": [lambda lib, m: m[1], lambda lib, m: m[-1], lambda lib, m: m[1:],
                lambda lib, m: m[9],
                lambda lib, m: m[::2]],
    "pop": [lambda lib, m: m.pop(1), lambda lib, m: m.pop(-1), lambda lib, m: m.pop(7)],
}


@pytest.mark.parametrize("case", list(MODULELIST_OPS))
def test_module_list_mutation_matches_torch(case):
    _replay(_mlist, MODULELIST_OPS[case])


def test_module_list_in_a_parent_module_state_dict_keys():
    def build(lib):
        parent = lib.nn.Module()
        parent.blocks = _mlist(lib, 3)
        return parent
    _replay(build, [lambda lib, p: p.blocks.__delitem__(0),
                    lambda lib, p: p.blocks.append(_lin(lib, 8)),
                    lambda lib, p: p.blocks.insert(1, _lin(lib, 9)),
                    lambda lib, p: p.blocks.pop(0)])


def _mdict(lib):
    return lib.nn.ModuleDict({"b": _lin(lib, 0), "a": _lin(lib, 1)})


MODULEDICT_OPS = {
    "setitem": [lambda lib, d: d.__setitem__("c", _lin(lib, 2)),
                lambda lib, d: d.__setitem__("a", _lin(lib, 3))],
    "delitem": [lambda lib, d: d.__delitem__("b"), lambda lib, d: d.__delitem__("zz")],
    "pop": [lambda lib, d: d.pop("a"), lambda lib, d: d.pop("zz")],
    "update": [lambda lib, d: d.update({"z": _lin(lib, 4), "a": _lin(lib, 5)}),
               lambda lib, d: d.update([("y", _lin(lib, 6))]),
               lambda lib, d: d.update(OrderedDict([("x", _lin(lib, 7))])),
               lambda lib, d: d.update(_mdict(lib)),
               lambda lib, d: d.update(5),
               lambda lib, d: d.update([5]),
               lambda lib, d: d.update([("k", _lin(lib, 1), 3)])],
    "views": [lambda lib, d: list(d.keys()), lambda lib, d: [_describe(v) for v in d.values()],
              lambda lib, d: [(k, _describe(v)) for k, v in d.items()], lambda lib, d: list(d),
              lambda lib, d: "a" in d, lambda lib, d: "q" in d, lambda lib, d: len(d)],
    "clear": [lambda lib, d: d.clear(), lambda lib, d: len(d)],
    "getitem": [lambda lib, d: d["a"], lambda lib, d: d["nope"]],
}


@pytest.mark.parametrize("case", list(MODULEDICT_OPS))
def test_module_dict_mutation_matches_torch(case):
    _replay(_mdict, MODULEDICT_OPS[case])
