"""Call forms torch accepts: ``size=``, randint's overloads, NumPy's ``axis=``/``keepdims=``,
``out=`` (one mechanism for every op), and indexing with ranges, nested lists and mixed keys."""
import inspect
import warnings

import numpy as np
import pytest
import torch

import gputensor as gt
from gputensor._torch_args import OUT_OPS
from helpers import check_lib_op, to_np

# -- size= and randint -----------------------------------------------------------------------------

CREATORS = ["empty", "zeros", "ones", "rand", "randn"]


@pytest.mark.parametrize("name", CREATORS)
def test_size_keyword(name, device):
    fn = getattr(gt, name)
    for size in ((2, 3), [4], ()):
        want = tuple(getattr(torch, name)(size=size).shape)
        assert tuple(fn(size=size, device=device).shape) == want
    assert fn(size=(2,), dtype=gt.float64).dtype is gt.float64
    with pytest.raises(TypeError, match="multiple values for argument 'size'"):
        fn((2,), size=(3,))
    with pytest.raises(TypeError, match="must be tuple of ints"):
        fn(size=2)


def test_full_size_keyword():
    assert gt.full(size=(2,), fill_value=3).tolist() == torch.full(size=(2,), fill_value=3).tolist()
    assert gt.full(size=(2,), fill_value=3).dtype is gt.int64


@pytest.mark.parametrize("call", ["randint(10, (3,))", "randint(10, size=(3,))",
                                  "randint(2, 10, (3,))", "randint(2, 10, size=(3, 2))",
                                  "randint(high=10, size=(3,))",
                                  "randint(low=2, high=10, size=(3,))"])
def test_randint_forms(call):
    g, t = eval("gt." + call), eval("torch." + call)
    assert tuple(g.shape) == tuple(t.shape) and g.dtype is gt.int64
    lo = 2 if "2," in call or "low=2" in call else 0
    assert int(g.min()) >= lo and int(g.max()) < 10


@pytest.mark.parametrize("call", ["randint(10, 3)", "randint(5, size=3)"])
def test_randint_bad_size(call):
    with pytest.raises(TypeError):
        eval("torch." + call)
    with pytest.raises(TypeError):
        eval("gt." + call)


# -- axis= / keepdims= ----------------------------------------------------------------------------

REDUCTIONS = ["sum", "mean", "std", "var", "prod", "amax", "amin", "argmax", "argmin", "any",
              "all", "logsumexp", "nansum", "norm", "max", "min", "median", "cumsum", "std_mean",
              "var_mean"]


def _values(r):
    return [to_np(v) if isinstance(v, gt.Tensor) else v.numpy() for v in r] \
        if isinstance(r, tuple) else [to_np(r) if isinstance(r, gt.Tensor) else r.numpy()]


@pytest.mark.parametrize("name", REDUCTIONS)
def test_numpy_aliases(name, rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    if name in ("any", "all"):
        a = a > 0
    for lib_kw, ref_kw in (({"axis": 1}, {"dim": 1}), ({"axis": 0, "keepdims": True},
                                                          {"dim": 0, "keepdim": True})):
        if name == "cumsum" and "keepdims" in lib_kw:
            continue
        ours = getattr(gt, name)(gt.tensor(a), **lib_kw)
        method = getattr(gt.tensor(a), name)(**lib_kw) if hasattr(torch.Tensor, name) else ours
        ref = getattr(torch, name)(torch.tensor(a), **ref_kw)
        for x, y, z in zip(_values(ours), _values(method), _values(ref)):
            np.testing.assert_allclose(x, z, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(y, z, rtol=1e-5, atol=1e-6)


def test_alias_conflicts_and_other_ops():
    x = gt.ones(2, 3)
    with pytest.raises(TypeError, match="multiple values for argument 'dim'"):
        x.sum(dim=1, axis=1)
    assert tuple(gt.cat([x, x], axis=1).shape) == (2, 6)
    assert tuple(gt.stack([x, x], axis=0).shape) == (2, 2, 3)
    assert tuple(gt.softmax(x, axis=1).shape) == (2, 3)


def test_every_op_with_dim_takes_axis():
    """The mechanism covers every op (function and method) with a ``dim``/``keepdim`` parameter,
    ops added later by anyone included."""
    missing = []
    methods = [(n, f) for n, f in vars(gt.Tensor).items() if hasattr(gt, n)]
    for name, fn in methods + [(n, getattr(gt, n)) for n in dir(gt)]:
        if name.startswith("_") or name.endswith("_") or not inspect.isfunction(fn):
            continue
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            continue
        if ("dim" in params or "keepdim" in params) and not getattr(fn, "_torch_args", False):
            missing.append(name)
    assert not missing


# -- out= ------------------------------------------------------------------------------------------

def test_out_ops_have_out_in_signature():
    """Every public function torch gives ``out=`` takes it here too (ops added later included)."""
    lacking = []
    for name in OUT_OPS:
        fn = getattr(gt, name, None)
        if fn is None or not callable(fn):
            continue
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            continue
        if "out" not in params:
            lacking.append(name)
    assert not lacking
    for name in ("add", "mul", "exp", "matmul", "mm", "bmm", "cat", "stack", "where", "clamp",
                 "sum", "mean", "max", "zeros"):
        assert "out" in inspect.signature(getattr(gt, name)).parameters, name


OUT_CASES = [
    ("add", lambda lib, a, b: (a, b), {}),
    ("mul", lambda lib, a, b: (a, 2.0), {}),
    ("sub", lambda lib, a, b: (a, b), {"alpha": 2}),
    ("div", lambda lib, a, b: (a, b + 3), {}),
    ("exp", lambda lib, a, b: (a,), {}),
    ("sqrt", lambda lib, a, b: (a.abs(),), {}),
    ("maximum", lambda lib, a, b: (a, b), {}),
    ("matmul", lambda lib, a, b: (a, b.t()), {}),
    ("mm", lambda lib, a, b: (a, b.t()), {}),
    ("bmm", lambda lib, a, b: (a[None], b.t()[None]), {}),
    ("cat", lambda lib, a, b: ([a, b],), {"dim": 1}),
    ("stack", lambda lib, a, b: ([a, b],), {}),
    ("where", lambda lib, a, b: (a > 0, a, b), {}),
    ("clamp", lambda lib, a, b: (a, -0.5, 0.5), {}),
    ("sum", lambda lib, a, b: (a, 1), {}),
    ("mean", lambda lib, a, b: (a,), {"dim": 0}),
    ("lt", lambda lib, a, b: (a, b), {}),
]


@pytest.mark.parametrize("name,args,kw", OUT_CASES, ids=[c[0] for c in OUT_CASES])
def test_out_matches_torch(name, args, kw, rng, device):
    a = rng.standard_normal((2, 3)).astype(np.float32)
    b = rng.standard_normal((2, 3)).astype(np.float32)
    ref = getattr(torch, name)(*args(torch, torch.tensor(a), torch.tensor(b)), **kw)
    for start in ((0,), tuple(ref.shape)):  # an empty out is resized; a fitting one is reused
        out = gt.empty(start, dtype=gt.bool if ref.dtype == torch.bool else gt.float32,
                       device=device)
        storage = out.data_ptr()
        got = getattr(gt, name)(*args(gt, gt.tensor(a, device=device),
                                      gt.tensor(b, device=device)), **kw, out=out)
        assert got is out
        np.testing.assert_allclose(to_np(out), ref.numpy(), rtol=1e-5, atol=1e-6)
        if start != (0,):
            assert out.data_ptr() == storage  # written in place, views of out see it


def test_out_tuple_for_values_indices():
    x = [[1.0, 3.0], [4.0, 2.0]]
    v, i = gt.empty(0), gt.empty(0, dtype=gt.int64)
    r = gt.max(gt.tensor(x), 1, out=(v, i))
    tv, ti = torch.max(torch.tensor(x), 1)
    assert r.values is v and r.indices is i
    assert v.tolist() == tv.tolist() and i.tolist() == ti.tolist()


def test_out_resize_warning_and_dtype_rules():
    out = gt.empty(3)
    with pytest.warns(UserWarning, match="An output with one or more elements was resized"):
        gt.add(gt.ones(2), 1, out=out)
    assert out.tolist() == [2.0, 2.0]
    o64 = gt.empty(2, dtype=gt.float64)
    gt.add(gt.ones(2, dtype=gt.int64), 1, out=o64)  # int result into float out: allowed
    assert o64.tolist() == [2.0, 2.0] and o64.dtype is gt.float64
    for res_dt, out_dt, msg in ((gt.float32, gt.int64, "Float can't be cast to the desired "
                                                     "output type Long"),
                                (gt.float32, gt.bool, "Float can't be cast to the desired "
                                                    "output type Bool"),
                                (gt.int64, gt.bool, "Long can't be cast to the desired output "
                                                  "type Bool")):
        tmsg = None
        try:
            torch.add(torch.ones(2, dtype=getattr(torch, res_dt.name)), 1,
                      out=torch.empty(2, dtype=getattr(torch, out_dt.name)))
        except RuntimeError as e:
            tmsg = str(e)
        assert tmsg == f"result type {msg}"
        with pytest.raises(RuntimeError, match=f"^result type {msg}$"):
            gt.add(gt.ones(2, dtype=res_dt), 1, out=gt.empty(2, dtype=out_dt))
    with pytest.raises(RuntimeError, match="Expected out tensor to have device"):
        gt.add(gt.ones(2), 1, out=gt.empty(2, device="cuda"))


def test_out_is_not_differentiable():
    msg = ("add(): functions with out=... arguments don't support automatic differentiation, "
           "but one of the arguments requires grad.")
    for lib in (torch, gt):
        with pytest.raises(RuntimeError, match=msg.replace("(", r"\(").replace(")", r"\)")
                           .replace(".", r"\.")):
            lib.add(lib.ones(2, requires_grad=True), 1, out=lib.empty(2))
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            lib.add(lib.ones(2), 1, out=lib.empty(2, requires_grad=True))
        with lib.no_grad():
            out = lib.empty(2)
            lib.add(lib.ones(2, requires_grad=True), 1, out=out)
        assert out.tolist() == [2.0, 2.0] and not out.requires_grad
    idx = gt.empty((), dtype=gt.int64)
    gt.argmax(gt.tensor([1.0, 3.0], requires_grad=True), out=idx)  # not differentiable: allowed
    assert idx.item() == 1


def test_out_bumps_version_and_methods_accept_out():
    out = gt.zeros(2)
    v = out._version.value
    gt.mul(gt.ones(2), 3, out=out)
    assert out._version.value == v + 1 and out.tolist() == [3.0, 3.0]


def test_wrapper_overhead_is_small():
    """The keyword-free call path adds one ``if`` and one call: counted in Python calls (a
    timing here would be flaky on a loaded machine; speed lives in benchmarks/)."""
    import sys
    x = gt.ones(8, 8)
    raw = gt.Tensor.sum.__wrapped__

    def calls(fn) -> int:
        n = [0]

        def prof(frame, event, arg):
            if event == "call":
                n[0] += 1
        fn()  # warm caches first
        sys.setprofile(prof)
        try:
            fn()
        finally:
            sys.setprofile(None)
        return n[0]

    assert calls(lambda: x.sum(1)) <= calls(lambda: raw(x, 1)) + 2


# -- indexing ----------------------------------------------------------------------------------

def _conv(lib, k):
    if isinstance(k, tuple):
        return tuple(_conv(lib, x) for x in k)
    if isinstance(k, list):
        return [_conv(lib, x) for x in k]
    if isinstance(k, np.ndarray):
        return lib.tensor(k)
    return k


KEYS = [range(2), (slice(None), range(1, 3)), [[0, 1], [1, 0]], ([0, 1], [1, 2]),
        ([[0], [1]], [[1, 2]]), (0, [0, 2], slice(None), [1, 3]),
        (slice(None), [0, 2], slice(None), [1, 3]), (np.array([0, 1]), slice(1, 3), [2, 3]),
        (Ellipsis, [0, 1]), ([0, 1], Ellipsis, [1, 2]), (None, [0, 1], None),
        ([True, False],), ([[True, False, True], [False, True, True]],), (0, range(3)),
        ([0, 1], 1, [1, 2]), (slice(None), 0, [1, 2]), ((0, 1),), ([0], [1], [2], [3]),
        (np.array([[0, 1]]), [0, 2]), ([[0, 1], [1, 0]], [[0, 1]], 2),
        (range(0, 2), range(0, 3, 2)), (slice(None), None, [0, 1]), ([0, 1], None, [1, 2]),
        (1, slice(None), [[0, 1], [2, 3]]), (np.array(1), [0, 1]), ([0, 1, 1],), ([[0, -1]],),
        (slice(None), [[-1]]), ([1], slice(None), 0, [2]), [0, slice(1, 3)],
        [np.array([0, 1]), np.array([1, 2])], [range(2), 0], (slice(None, None, 2), [1, 0])]
SIM_KEYS = [0, 2, 3, 5, 6, 20, 23, 29, 31]  # a sample for the (slow) simulated device


def _ids(keys):
    return [repr(k).replace(" ", "")[:40] for k in keys]


def _get(lib, a, k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's and our "non-tuple sequence" deprecation
        return lib.tensor(a)[_conv(lib, k)]


@pytest.mark.parametrize("key", KEYS, ids=_ids(KEYS))
def test_getitem_setitem_like_torch(key, rng):
    a = rng.standard_normal((2, 3, 4, 5))
    ref = _get(torch, a, key)
    np.testing.assert_array_equal(to_np(_get(gt, a, key)), ref.numpy())
    v = rng.standard_normal(tuple(ref.shape))
    w = rng.standard_normal(a.shape)
    results = []
    for lib in (torch, gt):
        x = lib.tensor(a, requires_grad=True)
        val = lib.tensor(v, requires_grad=True)
        y = x * 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y[_conv(lib, key)] = val
        (y * lib.tensor(w)).sum().backward()
        results.append([to_np(y.detach()) if lib is gt else y.detach().numpy(),
                        to_np(x.grad) if lib is gt else x.grad.numpy(),
                        to_np(val.grad) if lib is gt else val.grad.numpy()])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs)


@pytest.mark.parametrize("key", [KEYS[i] for i in SIM_KEYS], ids=_ids([KEYS[i] for i in SIM_KEYS]))
def test_indexing_gradients_on_both_devices(key, rng, device):
    a = rng.standard_normal((2, 3, 4, 5))
    check_lib_op(lambda lib, x: _getitem_quiet(x, _conv(lib, key)), a, device=device)


def _getitem_quiet(x, key):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return x[key]


def test_sequence_key_deprecation_warning_matches_torch():
    for lib in (torch, gt):
        with pytest.warns(UserWarning, match="Using a non-tuple sequence for multidimensional "
                                             "indexing is deprecated"):
            lib.zeros(2, 3)[[[0, 1], [1, 2]]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gt.zeros(4)[[0, 1]]  # a plain list of ints is one index: no warning
        gt.zeros(4)[range(3)]


def test_index_errors_like_torch():
    for key in ([5], range(3, 6), ([0], [7])):
        with pytest.raises(IndexError):
            torch.zeros(4, 5)[key]
        with pytest.raises(IndexError):
            gt.zeros(4, 5)[key]


def test_new_factories_take_size_keyword():
    x, t = gt.zeros(2, dtype=gt.float64), torch.zeros(2, dtype=torch.float64)
    for name, kw in (("new_zeros", {"size": (3,)}), ("new_ones", {"size": [2, 2]}),
                     ("new_empty", {"size": (1,)}),
                     ("new_full", {"size": (2,), "fill_value": 3.0})):
        g, r = getattr(x, name)(**kw), getattr(t, name)(**kw)
        assert tuple(g.shape) == tuple(r.shape) and g.dtype is gt.float64
        if name != "new_empty":
            assert g.tolist() == r.tolist()


def test_adapted_functions_pickle():
    """Wrapped ops stay picklable by reference (DataLoader workers pickle collate functions)."""
    import pickle
    for f in (gt.cat, gt.stack, gt.sum, gt.add, gt.where, gt.Tensor.sum):
        assert pickle.loads(pickle.dumps(f)) is f
