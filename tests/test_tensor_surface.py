"""The generic torch surface added for issue 8 (ops/tensor_misc.py, windows.py, numeric_misc.py,
dropout_forms.py, _runtime.py) against torch: a walk over the names (present wherever torch has
them, same value and dtype on a small input) and gradchecked comparisons for the
differentiable ones."""
import warnings

import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_grad, check_lib_op, to_np

F = np.float32
pytestmark = pytest.mark.filterwarnings("ignore:index_reduce\\(\\) is in beta")

METHODS = ("divide multiply subtract true_divide negative positive swapaxes swapdims adjoint "
           "storage_offset get_device new is_nonzero is_same_size is_signed is_complex is_conj "
           "is_neg is_inference is_pinned pin_memory sum_to_size split_with_sizes index_copy "
           "index_reduce masked_scatter put renorm diagflat apply_ map_ sgn "
           "register_post_accumulate_grad_hook").split()
PROPERTIES = "H mT mH itemsize nbytes output_nr".split()
TOP_LEVEL = ("detach scalar_tensor range rsub typename is_storage can_cast is_nonzero is_same_size "
             "is_signed is_complex is_conj is_neg is_inference get_device adjoint positive sgn "
             "tril_indices triu_indices vander unravel_index trapezoid trapz "
             "cumulative_trapezoid hann_window hamming_window blackman_window bartlett_window "
             "kaiser_window get_num_threads set_num_threads get_num_interop_threads "
             "set_num_interop_threads use_deterministic_algorithms "
             "are_deterministic_algorithms_enabled is_deterministic_algorithms_warn_only_enabled "
             "set_deterministic_debug_mode get_deterministic_debug_mode "
             "set_float32_matmul_precision get_float32_matmul_precision set_printoptions dropout "
             "alpha_dropout feature_dropout feature_alpha_dropout dropout_ alpha_dropout_ "
             "feature_dropout_ feature_alpha_dropout_ manual_seed seed initial_seed fill fill_ "
             "zero_ split_with_sizes index_copy index_reduce masked_scatter put renorm "
             "diagflat divide multiply subtract true_divide negative").split()


def test_names_exist_where_torch_has_them():
    missing = [n for n in METHODS + PROPERTIES if hasattr(torch.Tensor, n)
               and not hasattr(gt.Tensor, n)]
    missing += [f"torch.{n}" for n in TOP_LEVEL if hasattr(torch, n) and not hasattr(gt, n)]
    assert not missing


def _same(a, b):
    """gputensor result ``a`` equals torch result ``b`` (tensors: value and dtype)."""
    if isinstance(b, torch.Tensor):
        assert isinstance(a, gt.Tensor) and a.dtype.name == str(b.dtype).split(".")[-1]
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(to_np(a), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    elif isinstance(b, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        assert a == b, (a, b)


X = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], F)
CASES = {
    "divide": lambda L, x: x.divide(2), "multiply": lambda L, x: x.multiply(x),
    "subtract": lambda L, x: x.subtract(1, alpha=2), "true_divide": lambda L, x: x.true_divide(4),
    "negative": lambda L, x: x.negative(), "positive": lambda L, x: L.positive(x),
    "swapaxes": lambda L, x: x.swapaxes(0, 1), "swapdims": lambda L, x: x.swapdims(1, 0),
    "H": lambda L, x: x.H, "mH": lambda L, x: x.mH, "adjoint": lambda L, x: L.adjoint(x),
    "itemsize": lambda L, x: x.itemsize, "nbytes": lambda L, x: x.nbytes,
    "storage_offset": lambda L, x: (x.storage_offset(), x[1].storage_offset(),
                                    x[:, 1:].storage_offset(), x.t().storage_offset()),
    "get_device": lambda L, x: (x.get_device(), L.get_device(x)),
    "new": lambda L, x: (x.new(2, 3).shape, x.new([1, 2]), x.new().shape, x.new((2, 3)),
                         x.new(L.Size([2, 1])).shape),
    "is_nonzero": lambda L, x: (L.is_nonzero(x[0, :1]), x[1, 1].is_nonzero(),
                                L.is_nonzero(L.tensor([0]))),
    "is_same_size": lambda L, x: (x.is_same_size(x), L.is_same_size(x, x.t())),
    "is_signed": lambda L, x: (x.is_signed(), L.is_signed(x.to(L.uint8)),
                               L.is_signed(x.bool()), L.is_signed(x.long())),
    "predicates": lambda L, x: (x.is_complex(), L.is_conj(x), L.is_neg(x), x.is_inference(),
                                x.is_pinned(), L.is_complex(x)),
    "sum_to_size": lambda L, x: (x.sum_to_size(1, 3), x.sum_to_size((2, 1)), x.sum_to_size(3)),
    "split_with_sizes": lambda L, x: L.split_with_sizes(x, [1, 2], 1),
    "diagflat": lambda L, x: (L.diagflat(x), x[0].diagflat(1), L.diagflat(x, -2)),
    "sgn": lambda L, x: (L.sgn(x), x.long().sgn()),
    "detach": lambda L, x: L.detach(x),
    "scalar_tensor": lambda L, x: (L.scalar_tensor(3), L.scalar_tensor(2, dtype=L.int64),
                                   L.scalar_tensor(True)),
    "rsub": lambda L, x: (L.rsub(x, 2), L.rsub(x, x * 3, alpha=2), L.rsub(x.long(), 1)),
    "typename": lambda L, x: (L.typename(x).split(".")[-1], L.typename(x.long()).split(".")[-1],
                              L.typename(3), L.typename(x.bool()).split(".")[-1]),
    "is_storage": lambda L, x: L.is_storage(x),
    "can_cast": lambda L, x: tuple(L.can_cast(a, b) for a in (L.float32, L.int32, L.bool,
                                                              L.uint8, L.float64)
                                   for b in (L.float16, L.int64, L.bool, L.int8)),
    "tril_indices": lambda L, x: (L.tril_indices(3, 4, 1), L.tril_indices(4, 3, -1),
                                  L.tril_indices(0, 0), L.tril_indices(2, 2, dtype=L.int32)),
    "triu_indices": lambda L, x: (L.triu_indices(3, 2, -1), L.triu_indices(3, 3),
                                  L.triu_indices(3, 5, 2)),
    "vander": lambda L, x: (L.vander(x[0]), L.vander(x[1].long(), N=4),
                            L.vander(x[0], 2, increasing=True), L.vander(x[0], N=0)),
    "unravel_index": lambda L, x: (L.unravel_index(L.tensor([4, 1, 5]), (2, 3)),
                                   L.unravel_index(L.tensor(7), (2, 2, 2)),
                                   L.unravel_index(L.tensor([[3, 2]]), (4,))),
    "trapezoid": lambda L, x: (L.trapezoid(x), L.trapezoid(x, dim=0), L.trapezoid(x, dx=0.5),
                               L.trapezoid(x, L.tensor([0.0, 1.0, 3.0])),
                               L.trapezoid(x.long()), L.trapz(x, dx=2.0),
                               L.trapz(x, x * 2, dim=0)),
    "cumulative_trapezoid": lambda L, x: (L.cumulative_trapezoid(x),
                                          L.cumulative_trapezoid(x, dim=0),
                                          L.cumulative_trapezoid(x.long(), dx=2)),
    "windows": lambda L, x: tuple(
        f(n, periodic=p) for f in (L.hann_window, L.hamming_window, L.blackman_window,
                                   L.bartlett_window, L.kaiser_window)
        for n in (0, 1, 2, 5, 8) for p in (True, False)),
    "window_params": lambda L, x: (L.hamming_window(6, True, 0.5, 0.5),
                                   L.kaiser_window(7, False, beta=3.0),
                                   L.hann_window(4, dtype=L.float64)),
    "dropout_eval": lambda L, x: (L.dropout(x, 0.5, False), L.alpha_dropout(x, 0.5, False),
                                  L.feature_dropout(x, 0.3, False), L.dropout(x, 0.0, True),
                                  L.feature_alpha_dropout(x, 0.5, False), L.dropout(x, 1.0, True)),
    "index_copy": lambda L, x: L.index_copy(x, 1, L.tensor([2, 0]), x[:, :2] * 10),
    "index_reduce": lambda L, x: tuple(
        x.index_reduce(0, L.tensor([1, 1]), x * 2, r, include_self=s)
        for r in ("prod", "mean", "amax", "amin") for s in (True, False)),
    "masked_scatter": lambda L, x: (L.masked_scatter(x, x > 0, x * 10),
                                    x.masked_scatter(L.tensor([True, False, True]), -x)),
    "put": lambda L, x: (L.put(x, L.tensor([0, 5, -2]), L.tensor([7.0, 8.0, 9.0])),
                         x.put(L.tensor([[1, 1]]), L.tensor([[1.0, 2.0]]), accumulate=True)),
    "renorm": lambda L, x: (L.renorm(x, 2, 0, 5.0), x.renorm(1, 1, 4.0),
                            L.renorm(x, 3.0, -1, 100.0)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_behaves_as_torch(case):
    f = CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = f(torch, torch.tensor(X))
    _same(f(gt, gt.tensor(X)), expected)


def test_range_warns_and_is_inclusive():
    for L in (gt, torch):
        with pytest.warns(UserWarning, match="torch.range is deprecated"):
            r = (L.range(1, 4), L.range(0, 1, 0.25), L.range(0, 3), L.range(5, 1, -2))
        if L is gt:
            mine = r
    _same(mine, r)


def test_errors_match_torch():
    cases = [
        (lambda L: L.ones(2).sum_to_size(3), RuntimeError, "is not expandable"),
        (lambda L: L.is_nonzero(L.ones(2)), RuntimeError, "more than one value"),
        (lambda L: L.is_nonzero(L.ones(0)), RuntimeError, "no values"),
        (lambda L: L.ones(3).adjoint(), RuntimeError, "only supported on matrices"),
        (lambda L: L.ones(3).mH, RuntimeError, "only supported on matrices"),
        (lambda L: L.positive(L.ones(2).bool()), RuntimeError, "bool tensor is not supported"),
        (lambda L: L.split_with_sizes(L.ones(4), [1, 2]), RuntimeError, "sum exactly"),
        (lambda L: L.hann_window(3, dtype=L.int64), RuntimeError, "floating point dtypes"),
        (lambda L: L.unravel_index(L.tensor([1.0]), (2,)), TypeError, "integer dtype"),
        (lambda L: L.set_num_threads(0), RuntimeError, "positive integer"),
        (lambda L: L.use_deterministic_algorithms(1), TypeError, "must be bool"),
        (lambda L: L.set_deterministic_debug_mode("x"), RuntimeError, "invalid value"),
        (lambda L: L.dropout(L.ones(2), 1.5, True), RuntimeError, "between 0 and 1"),
        (lambda L: L.ones(2, 2).masked_scatter(L.ones(2, 2).bool(), L.ones(3)), RuntimeError,
         "Number of elements of source"),
        (lambda L: L.ones(2).put(L.tensor([2]), L.ones(1)), IndexError, "out of range"),
        (lambda L: L.ones(2).index_copy(0, L.tensor([0]), L.ones(1).long()), RuntimeError,
         "same dtype"),
    ]
    for fn, exc, msg in cases:
        for L in (torch, gt):
            with pytest.raises(exc, match=msg):
                fn(L)


def test_pin_memory_matches_availability():
    x = gt.ones(2)
    assert not x.is_pinned()
    if gt.cuda.is_available():
        y = x.pin_memory()
        assert y is not x and y.tolist() == [1.0, 1.0]
    else:
        with pytest.raises(RuntimeError):
            x.pin_memory()


def test_runtime_settings_round_trip():
    n = gt.get_num_threads()
    assert n >= 1 and gt.get_num_interop_threads() >= 1
    gt.set_num_threads(1)
    assert gt.get_num_threads() == 1
    gt.set_num_threads(n)
    assert gt.get_num_threads() == n
    assert not gt.are_deterministic_algorithms_enabled()
    try:
        gt.use_deterministic_algorithms(True, warn_only=True)
        assert gt.are_deterministic_algorithms_enabled()
        assert gt.is_deterministic_algorithms_warn_only_enabled()
        assert gt.get_deterministic_debug_mode() == 1
        gt.set_deterministic_debug_mode("error")
        assert gt.get_deterministic_debug_mode() == 2
    finally:
        gt.use_deterministic_algorithms(False)
    assert gt.get_deterministic_debug_mode() == 0
    assert gt.get_float32_matmul_precision() == "highest"
    try:
        gt.set_float32_matmul_precision("high")
        assert gt.get_float32_matmul_precision() == "high"
        with pytest.warns(UserWarning, match="has no effect"):
            gt.set_float32_matmul_precision("bad")
        assert gt.get_float32_matmul_precision() == "high"
    finally:
        gt.set_float32_matmul_precision("highest")


def test_apply_map_and_hooks():
    x = gt.tensor([1.0, 2.0, 3.0])
    assert x.apply_(lambda v: v * v) is x and x.tolist() == [1.0, 4.0, 9.0]
    x.map_(gt.tensor([1.0, 1.0, 2.0]), lambda a, b: a - b)
    assert x.tolist() == [0.0, 3.0, 7.0]
    with pytest.raises(RuntimeError, match="leaf Variable"):
        gt.ones(2, requires_grad=True).apply_(lambda v: v)
    w = gt.ones(3, requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    (w * 2).sum().backward()
    assert seen == [[2.0, 2.0, 2.0]]
    handle.remove()
    (w * 2).sum().backward()
    assert len(seen) == 1
    with pytest.raises(RuntimeError):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)
    y = w * 1
    assert y.output_nr == 0 and w.output_nr == 0


def test_dropout_forms_train():
    x = gt.ones(200, 50)
    y = gt.dropout(x, 0.3, True)
    kept = to_np(y) != 0
    assert 0.6 < kept.mean() < 0.8 and np.allclose(to_np(y)[kept], 1 / 0.7)
    a = to_np(gt.alpha_dropout(x, 0.5, True))
    t = torch.alpha_dropout(torch.ones(200, 50), 0.5, True).numpy()
    assert set(np.round(np.unique(a), 4)) == set(np.round(np.unique(t), 4))
    f = to_np(gt.feature_dropout(gt.ones(20, 30, 4), 0.5, True))
    assert (f.min(axis=2) == f.max(axis=2)).all()  # whole channels dropped
    z = gt.ones(3, 4)
    assert gt.dropout_(z, 0.5, True) is z
    with pytest.raises(RuntimeError):
        gt.feature_dropout(gt.ones(3), 0.5, True)


def test_dropout_forms_grad(device):
    # p=0.5 alpha dropout: the gradient is the kept-scale (a or 0) per element
    x = gt.ones(5, 3, device=device, requires_grad=True)
    y = gt.alpha_dropout(x, 0.5, True)
    y.sum().backward()
    a = 1 / np.sqrt(0.5 * (1 + 0.5 * 1.7580993408473766 ** 2))
    g = np.unique(to_np(x.grad))
    assert len(g) == 2 and np.allclose(g, [0.0, a])


# -- gradients of the differentiable additions ----------------------------------------------------

def test_grad_aliases_and_views(device, rng):
    x = rng.standard_normal((3, 4)).astype(F)
    check_lib_op(lambda L, a: (a.H, a.mH, L.adjoint(a), a.swapdims(0, 1), a.negative()), x,
                 device=device)
    check_lib_op(lambda L, a: (a.sum_to_size(1, 4), L.diagflat(a[0], 1),
                               *a.split_with_sizes([1, 3], 1)), x, device="cpu")
    check_lib_op(lambda L, a, b: (a.divide(b), a.multiply(b), L.rsub(a, b, alpha=2),
                                  a.true_divide(b + 3)), x, x[::-1].copy(), device="cpu")


def test_grad_index_writes(device, rng):
    x = rng.standard_normal((4, 3)).astype(F)
    src = rng.standard_normal((4, 2)).astype(F)
    check_lib_op(lambda L, a, s, i: L.index_copy(a, 1, i, s), x, src, np.array([2, 0]),
                 device=device)
    mask = np.array([True, False, True])
    check_lib_op(lambda L, a, m, s: L.masked_scatter(a, m, s), x, mask,
                 rng.standard_normal((3, 3)).astype(F), device=device)
    check_lib_op(lambda L, a, i, s: L.put(a, i, s), x, np.array([[0, 11], [-3, 5]]),
                 rng.standard_normal((2, 2)).astype(F), device="cpu")


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
def test_grad_index_reduce(rng, reduce):
    x = rng.uniform(0.5, 2.0, (4, 3)).astype(F)
    s = rng.uniform(0.5, 2.0, (3, 3)).astype(F)
    check_lib_op(lambda L, a, b, i: L.index_reduce(a, 0, i, b, reduce, include_self=False),
                 x, s, np.array([1, 3, 1]), device="cpu")
    check_lib_op(lambda L, a, b, i: a.index_reduce(0, i, b, reduce), x, s, np.array([0, 2, 1]),
                 device="cpu")


def test_grad_renorm(device, rng):
    x = rng.standard_normal((3, 4)).astype(F)
    check_lib_op(lambda L, a: L.renorm(a, 2, 0, 1.5), x, device=device)
    check_lib_op(lambda L, a: a.renorm(1.5, 1, 1.0), x, device="cpu")


def test_grad_numeric(device, rng):
    y = rng.standard_normal((3, 5)).astype(F)
    xs = np.sort(rng.uniform(0, 4, 5)).astype(F)
    check_lib_op(lambda L, a, b: (L.trapezoid(a, b), L.cumulative_trapezoid(a, b)), y, xs,
                 device=device)
    check_lib_op(lambda L, a: (L.trapezoid(a, dx=0.3, dim=0), L.trapz(a),
                               L.cumulative_trapezoid(a, dim=0)), y, device="cpu")
    # torch's own vander backward fails (it saves a tensor it then modifies in place), so
    # compare values with torch and gradcheck gputensor alone
    check_lib_op(lambda L, a: (L.vander(a), L.vander(a, N=2, increasing=True)), y[0],
                 device="cpu", grad=False)
    check_grad(lambda a: gt.vander(a, N=4), y[0], device=device)
