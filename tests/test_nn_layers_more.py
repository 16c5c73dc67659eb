"""Layers torch has that gputensor gained late: 1-d/3-d/LP pools, instance/RMS/LRN norms,
distance, fold, channel shuffle, alpha dropout, gumbel-softmax, Container and Buffer."""
import warnings

import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op, compare_torch

F = gt.nn.functional


# -- functional pools ---------------------------------------------------------------------------

@pytest.mark.parametrize("p", [1.0, 2.0, 3.5])
def test_lp_pools(p, rng):
    x1, x2, x3 = (np.abs(rng.standard_normal(s)) + 0.1 for s in
                  ((2, 3, 7), (2, 3, 5, 6), (1, 2, 4, 5, 4)))
    check_lib_op(lambda lib, a: lib.nn.functional.lp_pool1d(a, p, 3, 2, ceil_mode=True), x1,
                 device="cpu")
    check_lib_op(lambda lib, a: lib.nn.functional.lp_pool2d(a, p, (2, 3), 2), x2, device="cpu")
    check_lib_op(lambda lib, a: lib.nn.functional.lp_pool3d(a, p, 2), x3, device="cpu")


def test_lp_pool2d_device(device, rng):
    x = np.abs(rng.standard_normal((1, 2, 3, 5))) + 0.1
    check_lib_op(lambda lib, a: lib.nn.functional.lp_pool2d(a, 2, (2, 3), 1), x, device=device)


@pytest.mark.parametrize("size", [(2, 3, 2), (5, 3, 4), 1, (None, 2, 3)])
def test_adaptive_max_pool3d(size, rng):
    x = rng.standard_normal((2, 2, 5, 3, 4))
    f = lambda lib, a: lib.nn.functional.adaptive_max_pool3d(a, size, return_indices=True)  # noqa
    check_lib_op(f, x, device="cpu")
    ties = rng.integers(0, 3, (2, 2, 5, 3, 4)).astype(np.float64)  # first maximum wins
    _, gi = F.adaptive_max_pool3d(gt.tensor(ties), size, True)
    _, ti = torch.nn.functional.adaptive_max_pool3d(torch.tensor(ties), size, True)
    np.testing.assert_array_equal(gi.numpy(), ti.numpy())


def test_adaptive_max_pool3d_device_unbatched(device, rng):
    x = rng.standard_normal((2, 3, 3, 5))
    check_lib_op(lambda lib, a: lib.nn.functional.adaptive_max_pool3d(a, (2, 2, 3)), x,
                 device=device)


def test_with_indices_forms(rng):
    x1, x2 = rng.standard_normal((2, 3, 9)), rng.standard_normal((2, 3, 5, 6))
    for name, x, args in (("max_pool1d_with_indices", x1, (3, 2, 1)),
                          ("max_pool2d_with_indices", x2, (2,)),
                          ("max_pool3d_with_indices", x2, (2,)),
                          ("adaptive_max_pool1d_with_indices", x1, (4,)),
                          ("adaptive_max_pool2d_with_indices", x2, ((2, 4),)),
                          ("adaptive_max_pool3d_with_indices", x2, ((2, 2, 3),))):
        compare_torch(lambda a: getattr(F, name)(a, *args), x, device="cpu",
                      torch_fn=lambda a: getattr(torch.nn.functional, name)(a, *args))


def test_max_unpool3d_roundtrip(device, rng):
    x = rng.standard_normal((1, 2, 4, 2, 4))
    tx = torch.tensor(x)
    tv, ti = torch.nn.functional.max_pool3d(tx, 2, return_indices=True)
    gv, gi = F.max_pool3d(gt.tensor(x, device=device), 2, return_indices=True)
    np.testing.assert_array_equal(gi.cpu().numpy(), ti.numpy())
    for out in (None, (4, 2, 4), (5, 3, 4)):
        want = torch.nn.functional.max_unpool3d(tv, ti, 2, output_size=out).numpy()
        got = F.max_unpool3d(gv, gi, 2, output_size=out)
        np.testing.assert_allclose(got.cpu().numpy(), want)
    idx = ti.numpy()
    check_lib_op(lambda lib, v, i: lib.nn.functional.max_unpool3d(v, i, 2, output_size=(5, 3, 4)),
                 tv.numpy(), idx, device=device)
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool3d(gv, gi + 1000, 2)


@pytest.mark.parametrize("k,out", [((2, 3), (4, 5)), (3, (6, 7)), (2, (1, 1)), (2, (8, 10))])
def test_fractional_max_pool2d_matches_torch(k, out, rng):
    x, s = rng.standard_normal((2, 3, 9, 11)), rng.random((2, 3, 2))
    f = lambda lib, a, smp: lib.nn.functional.fractional_max_pool2d(  # noqa: E731
        a, k, output_size=out, return_indices=True, _random_samples=smp)
    check_lib_op(f, x, s, device="cpu", grad=False)
    compare_torch(lambda a: f(gt, a, gt.tensor(s)), x, device="cpu",
                  torch_fn=lambda a: f(torch, a, torch.tensor(s)))


def test_fractional_max_pool3d_and_ratio(device, rng):
    x, s = rng.standard_normal((1, 2, 5, 5, 6)), rng.random((1, 2, 3))
    f = lambda lib, a, smp: lib.nn.functional.fractional_max_pool3d(  # noqa: E731
        a, (2, 3, 2), output_size=(3, 2, 4), _random_samples=smp)
    check_lib_op(f, x, s, device=device, grad=False)
    compare_torch(lambda a: f(gt, a, gt.tensor(s, device=device)), x, device=device,
                  torch_fn=lambda a: f(torch, a, torch.tensor(s)))
    x2, s2 = rng.standard_normal((3, 9, 11)), rng.random((1, 3, 2))  # unbatched
    compare_torch(lambda a: F.fractional_max_pool2d(a, 2, output_ratio=(0.5, 0.7),
                                                    _random_samples=gt.tensor(s2)), x2,
                  device="cpu", torch_fn=lambda a: torch.nn.functional.fractional_max_pool2d(
                      a, 2, output_ratio=(0.5, 0.7), _random_samples=torch.tensor(s2)))


def test_fractional_max_pool_modules_and_errors():
    m = gt.nn.FractionalMaxPool2d(2, output_ratio=0.5)
    assert repr(m) == repr(torch.nn.FractionalMaxPool2d(2, output_ratio=0.5))
    gt.manual_seed(3)
    a = m(gt.randn(2, 3, 8, 8))
    assert tuple(a.shape) == (2, 3, 4, 4)
    y, i = gt.nn.FractionalMaxPool3d(2, output_size=2, return_indices=True)(gt.randn(1, 2, 5, 5, 5))
    assert tuple(y.shape) == tuple(i.shape) == (1, 2, 2, 2, 2) and i.dtype == gt.int64
    for kw, msg in (({}, "either an output size"), ({"output_size": 3, "output_ratio": 0.5},
                                                    "only one of"),
                    ({"output_ratio": 1.5}, "between 0 and 1")):
        with pytest.raises(ValueError, match=msg):
            gt.nn.FractionalMaxPool2d(2, **kw)
    with pytest.raises(RuntimeError, match="too large relative to input"):
        F.fractional_max_pool2d(gt.randn(1, 1, 9, 11), 5, output_size=(8, 8))


# -- pooling modules ----------------------------------------------------------------------------

POOL_MODULES = [
    ("MaxPool1d(3, 2, 1)", (2, 3, 8)), ("MaxPool1d(2, return_indices=True)", (3, 7)),
    ("AvgPool1d(3, 2, 1, count_include_pad=False)", (2, 3, 8)),
    ("AdaptiveAvgPool1d(3)", (2, 3, 8)), ("AdaptiveMaxPool1d(3, return_indices=True)", (2, 3, 8)),
    ("AdaptiveMaxPool3d((2, 1, 2))", (1, 2, 3, 4, 5)), ("LPPool1d(2, 3)", (2, 3, 8)),
    ("LPPool2d(1.5, (2, 3), 2)", (1, 2, 5, 6)), ("LPPool3d(2, 2)", (1, 2, 4, 4, 4)),
]


@pytest.mark.parametrize("ctor,shape", POOL_MODULES)
def test_pool_modules(ctor, shape, rng):
    x = np.abs(rng.standard_normal(shape)) + 0.1
    gm, tm = eval("gt.nn." + ctor), eval("torch.nn." + ctor)
    assert repr(gm) == repr(tm)
    compare_torch(gm, x, device="cpu", torch_fn=tm)


def test_torch_import_paths():
    from gputensor.nn.modules.batchnorm import LazyBatchNorm1d
    from gputensor.nn.modules.distance import CosineSimilarity
    from gputensor.nn.modules.instancenorm import InstanceNorm2d, LazyInstanceNorm2d
    from gputensor.nn.modules.normalization import RMSNorm
    from gputensor.nn.modules.pooling import LPPool2d, MaxPool1d, MaxUnpool3d
    assert MaxPool1d is gt.nn.MaxPool1d and LPPool2d is gt.nn.LPPool2d
    assert MaxUnpool3d is gt.nn.MaxUnpool3d and RMSNorm is gt.nn.RMSNorm
    assert InstanceNorm2d is gt.nn.InstanceNorm2d and CosineSimilarity is gt.nn.CosineSimilarity
    assert LazyInstanceNorm2d is gt.nn.LazyInstanceNorm2d
    assert LazyBatchNorm1d is gt.nn.LazyBatchNorm1d
    missing = [n for n in dir(torch.nn) if n[0].isupper() and not hasattr(gt.nn, n)]
    for name in ("MaxPool1d", "InstanceNorm1d", "LazyLinear", "Buffer", "Fold",
                 "UninitializedParameter", "AlphaDropout", "ChannelShuffle", "Container"):
        assert name not in missing


# -- normalization ------------------------------------------------------------------------------

def _copy_state(gm, tm):
    gm.load_state_dict({k: gt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def test_instance_norm_functional(device, rng):
    x = rng.standard_normal((2, 3, 5))
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    check_lib_op(lambda lib, a, w, b: lib.nn.functional.instance_norm(a, weight=w, bias=b),
                 x, w, b, device=device)


@pytest.mark.parametrize("cls,shape", [("InstanceNorm1d", (2, 3, 5)),
                                       ("InstanceNorm2d", (2, 3, 4, 3)),
                                       ("InstanceNorm3d", (2, 3, 2, 3, 2)),
                                       ("InstanceNorm1d", (3, 5))])
@pytest.mark.parametrize("affine,track", [(False, False), (True, True)])
def test_instance_norm_modules(cls, shape, affine, track, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    tm = getattr(torch.nn, cls)(3, affine=affine, track_running_stats=track, momentum=0.3)
    gm = getattr(gt.nn, cls)(3, affine=affine, track_running_stats=track, momentum=0.3)
    assert repr(gm) == repr(tm)
    assert [n for n, _ in gm.named_buffers()] == [n for n, _ in tm.named_buffers()]
    if affine:
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
            tm.bias.uniform_(-1, 1)
    _copy_state(gm, tm)
    compare_torch(gm, x, device="cpu", torch_fn=tm)
    for name, buf in tm.named_buffers():  # running stats updated the same way
        np.testing.assert_allclose(gm.get_buffer(name).numpy(), buf.numpy(), rtol=1e-5)
    tm.eval(), gm.eval()
    compare_torch(gm, x, device="cpu", torch_fn=tm)


def test_instance_norm_errors():
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        gt.nn.InstanceNorm1d(3)(gt.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="to match num_features"):
        gt.nn.InstanceNorm1d(3, affine=True)(gt.zeros(2, 4, 5))
    with pytest.warns(UserWarning, match="does not match num_features"):
        gt.nn.InstanceNorm1d(3)(gt.randn(2, 4, 5))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(gt.zeros(2, 3, 1))


def test_local_response_norm(device, rng):
    x = rng.standard_normal((2, 5, 3, 2))
    check_lib_op(lambda lib, a: lib.nn.functional.local_response_norm(a, 3), x, device=device)
    check_lib_op(lambda lib, a: lib.nn.functional.local_response_norm(a, 4, 0.1, 0.6, 2.0),
                 x[:, :, :, 0], device="cpu")
    with pytest.raises(ValueError, match="Expected 3D or higher"):
        F.local_response_norm(gt.zeros(2, 3), 2)
    compare_torch(gt.nn.LocalResponseNorm(2), x, device="cpu",
                  torch_fn=torch.nn.LocalResponseNorm(2))


@pytest.mark.parametrize("size", [3, 4])
def test_cross_map_lrn2d(size, rng):
    x = rng.standard_normal((2, 6, 3, 3))
    compare_torch(gt.nn.CrossMapLRN2d(size, 0.1, 0.75, 2), x, device="cpu",
                  torch_fn=torch.nn.CrossMapLRN2d(size, 0.1, 0.75, 2))
    with pytest.raises(ValueError, match="Expected input to be 4D"):
        gt.nn.CrossMapLRN2d(3)(gt.zeros(2, 3, 4))


def test_rms_norm(device, rng):
    x, w = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4))
    check_lib_op(lambda lib, a, w: lib.nn.functional.rms_norm(a, (3, 4), w), x, w, device=device)
    check_lib_op(lambda lib, a: lib.nn.functional.rms_norm(a, [4], eps=1e-3), x, device="cpu")
    # eps=None: the input dtype's machine epsilon (visible on tiny inputs)
    tiny = (rng.standard_normal((2, 5)) * 1e-4).astype(np.float32)
    compare_torch(gt.nn.RMSNorm(5), tiny, device="cpu", torch_fn=torch.nn.RMSNorm(5),
                  rtol=1e-4)
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.rms_norm(gt.zeros(2, 3), (4,))


def test_group_norm_matches_torch(rng):
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    tm, gm = torch.nn.GroupNorm(2, 4), gt.nn.GroupNorm(2, 4)
    assert repr(tm) == repr(gm)
    compare_torch(gm, x, device="cpu", torch_fn=tm)


def test_sync_batch_norm_single_process(rng):
    x = rng.standard_normal((4, 3, 2, 2)).astype(np.float32)
    tm, gm = torch.nn.SyncBatchNorm(3, momentum=0.2), gt.nn.SyncBatchNorm(3, momentum=0.2)
    assert repr(gm) == repr(tm)
    compare_torch(gm, x, device="cpu", torch_fn=tm)
    np.testing.assert_allclose(gm.running_var.numpy(), tm.running_var.numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match="expected at least 2D input"):
        gm(gt.zeros(3))
    net = gt.nn.Sequential(gt.nn.Conv2d(3, 4, 1), gt.nn.BatchNorm2d(4), gt.nn.InstanceNorm2d(4))
    conv = gt.nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert [type(m).__name__ for m in conv] == ["Conv2d", "SyncBatchNorm", "InstanceNorm2d"]
    assert conv[1].weight is net[1].weight
    from gputensor.nn.modules.batchnorm import SyncBatchNorm, _BatchNorm
    assert SyncBatchNorm is gt.nn.SyncBatchNorm
    assert not isinstance(gt.nn.InstanceNorm2d(3), _BatchNorm)  # as in torch


# -- distance, fold, shuffle --------------------------------------------------------------------

def test_distance_modules(rng):
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    for ctor in ("CosineSimilarity()", "CosineSimilarity(dim=0, eps=1e-6)",
                 "PairwiseDistance()", "PairwiseDistance(p=1.0, keepdim=True)"):
        gm, tm = eval("gt.nn." + ctor), eval("torch.nn." + ctor)
        assert repr(gm) == repr(tm)
        compare_torch(gm, a, b, device="cpu", torch_fn=tm)


def test_fold_unfold_modules(rng):
    x = rng.standard_normal((2, 3, 5, 4))
    for ctor in ("Unfold(2)", "Unfold((2, 3), dilation=1, padding=1, stride=2)"):
        gm, tm = eval("gt.nn." + ctor), eval("torch.nn." + ctor)
        assert repr(gm) == repr(tm)
        compare_torch(gm, x, device="cpu", torch_fn=tm)
    cols = torch.nn.Unfold(2)(torch.tensor(x)).numpy()
    gm, tm = gt.nn.Fold((5, 4), 2), torch.nn.Fold((5, 4), 2)
    assert repr(gm) == repr(tm)
    compare_torch(gm, cols, device="cpu", torch_fn=tm)


def test_channel_shuffle(device, rng):
    x = rng.standard_normal((2, 6, 3))
    check_lib_op(lambda lib, a: lib.nn.functional.channel_shuffle(a, 3), x, device=device)
    compare_torch(gt.nn.ChannelShuffle(2), x, device="cpu", torch_fn=torch.nn.ChannelShuffle(2))
    out = F.native_channel_shuffle(gt.arange(6.0).reshape(1, 6, 1), 2)
    assert out.reshape(-1).tolist() == [0, 3, 1, 4, 2, 5]
    for args, msg in (((gt.zeros(2, 5, 3), 2), "divisible by groups"),
                      ((gt.zeros(2, 4, 3), 0), "must be positive"),
                      ((gt.zeros(4), 2), "> 2 dims")):
        with pytest.raises(RuntimeError, match=msg):
            F.channel_shuffle(*args)


# -- alpha dropout, gumbel-softmax --------------------------------------------------------------

def test_alpha_dropout_statistics_and_eval():
    x = gt.randn(200_000, dtype=gt.float64)
    y = F.alpha_dropout(x, 0.2, training=True)
    assert abs(float(y.mean())) < 0.02 and abs(float(y.std()) - 1) < 0.02  # moments kept
    dropped = -1.7580993408473766 / np.sqrt((1.7580993408473766 ** 2 * 0.2 + 1) * 0.8) + \
        1.7580993408473766 / np.sqrt((1.7580993408473766 ** 2 * 0.2 + 1) * 0.8) * 0.2
    frac = float((y == dropped).double().mean())
    assert abs(frac - 0.2) < 0.01
    assert F.alpha_dropout(x, 0.2) is x  # training defaults to False
    assert float(F.alpha_dropout(x, 1.0, True).abs().sum()) == 0
    m = gt.nn.AlphaDropout(0.3)
    assert repr(m) == repr(torch.nn.AlphaDropout(0.3))
    m.eval()
    assert m(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        gt.nn.AlphaDropout(1.5)


def test_alpha_dropout_gradient():
    x = gt.randn(50, dtype=gt.float64, requires_grad=True)
    y = F.alpha_dropout(x, 0.5, training=True)
    y.sum().backward()
    a = 1 / np.sqrt((1.7580993408473766 ** 2 * 0.5 + 1) * 0.5)
    kept = (y.detach() != y.detach().min()).numpy()  # dropped units all equal the minimum
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, a, 0.0))


def test_feature_alpha_dropout(device):
    x = gt.randn(40, 30, 3, 2, dtype=gt.float64, device=device)
    y = gt.nn.FeatureAlphaDropout(0.5).train()(x)
    xn, yn = x.cpu().numpy(), y.cpu().numpy()
    a = 1 / np.sqrt((1.7580993408473766 ** 2 * 0.5 + 1) * 0.5)
    kept = np.isclose(yn, xn * a + 1.7580993408473766 * a * 0.5).all(axis=(2, 3))
    assert 0.3 < kept.mean() < 0.7
    plane = yn.reshape(40, 30, -1)
    assert np.all(kept | np.isclose(plane, plane[..., :1]).all(-1))  # whole planes dropped
    assert gt.nn.FeatureAlphaDropout(0.5).eval()(x) is x


def test_gumbel_softmax_statistics():
    logits = gt.tensor([[1.0, 0.0, -1.0, 2.0]], dtype=gt.float64).expand(20_000, 4)
    y = F.gumbel_softmax(logits, tau=0.5, hard=True)
    assert tuple(y.shape) == (20_000, 4)
    assert set(np.unique(y.numpy())) <= {0.0, 1.0}
    np.testing.assert_allclose(y.sum(-1).numpy(), 1.0)
    freq = y.mean(0).numpy()
    np.testing.assert_allclose(freq, torch.tensor([1.0, 0.0, -1.0, 2.0]).softmax(0).numpy(),
                               atol=0.015)  # argmax of logits + Gumbel noise ~ softmax(logits)
    soft = F.gumbel_softmax(logits[:5], tau=2.0, dim=-1)
    np.testing.assert_allclose(soft.sum(-1).numpy(), 1.0)
    assert (soft.numpy() > 0).all()
    y0 = F.gumbel_softmax(gt.zeros(3, 4, 5), dim=1)
    np.testing.assert_allclose(y0.sum(1).numpy(), 1.0, rtol=1e-6)


def test_gumbel_softmax_straight_through(device):
    logits = gt.randn(3, 5, dtype=gt.float64, device=device, requires_grad=True)
    w = gt.randn(3, 5, dtype=gt.float64, device=device)
    gt.manual_seed(7)
    hard = F.gumbel_softmax(logits, tau=0.7, hard=True)
    (hard * w).sum().backward()
    g_hard = logits.grad.clone()
    logits.grad = None
    gt.manual_seed(7)
    soft = F.gumbel_softmax(logits, tau=0.7)
    (soft * w).sum().backward()
    np.testing.assert_allclose(g_hard.cpu().numpy(), logits.grad.cpu().numpy(), atol=1e-12)
    np.testing.assert_array_equal(hard.detach().cpu().numpy().argmax(-1),
                                  soft.detach().cpu().numpy().argmax(-1))


# -- Container, Buffer --------------------------------------------------------------------------

def test_buffer_registers():
    m = gt.nn.Module()
    m.x = gt.nn.Buffer(gt.ones(2))
    m.y = gt.nn.Buffer(gt.ones(1), persistent=False)
    assert isinstance(m.x, gt.nn.Buffer) and not isinstance(gt.ones(1), gt.nn.Buffer)
    assert [n for n, _ in m.named_buffers()] == ["x", "y"]
    assert list(m.state_dict()) == ["x"]
    assert type(m.x) is gt.Tensor and not m.x.requires_grad


def test_container():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = gt.nn.Container(a=gt.nn.Linear(2, 3), b=gt.nn.ReLU())
    assert [n for n, _ in c.named_children()] == ["a", "b"]
