"""Device and environment API torch programs touch first: accelerator, default device, backend
flags, legacy typed constructors, torch's module paths, DistributedSampler, detach_/data_ptr."""
import importlib
import pkgutil
import warnings

import numpy as np
import pytest
import torch

import gputensor as gt
import gputensor.nn.functional as F
from helpers import to_np


# -- accelerator ---------------------------------------------------------------------------------

def test_accelerator_with_cuda_on():
    assert gt.cuda.is_available()  # the simulator (conftest) or a GPU
    acc = gt.accelerator
    assert acc.is_available() and acc.device_count() == 1
    assert acc.current_accelerator() == gt.device("cuda")
    assert acc.current_accelerator().type == "cuda"
    assert acc.current_device_index() == 0
    acc.set_device_index(0)
    acc.synchronize()
    with pytest.raises(RuntimeError):
        acc.set_device_index(1)
    x = gt.ones(3, device=acc.current_accelerator())
    assert x.is_cuda


def test_accelerator_without_cuda(monkeypatch):
    import gputensor.accelerator as acc
    monkeypatch.setattr(acc, "cuda_available", lambda: False)
    assert acc.current_accelerator() is None and not acc.is_available()
    assert acc.device_count() == 0
    for fn in (acc.current_device_index, acc.synchronize, lambda: acc.set_device_index(0)):
        with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is "
                                               "available."):
            fn()


# -- default device --------------------------------------------------------------------------------

def test_default_device_set_and_get():
    assert gt.get_default_device() == gt.device("cpu")
    try:
        gt.set_default_device("cuda")
        assert gt.get_default_device() == gt.device("cuda:0")
        for t in (gt.zeros(2), gt.ones(2, 3), gt.empty(1), gt.full((2,), 1.0), gt.rand(2),
                  gt.randn(2), gt.randint(3, (2,)), gt.arange(3), gt.tensor([1.0]),
                  gt.linspace(0, 1, 3), gt.eye(2), gt.Tensor(2), gt.nn.Linear(2, 3).weight):
            assert t.device == gt.device("cuda:0"), t
        assert gt.from_numpy(np.zeros(2)).device.type == "cpu"  # shares host memory
        assert gt.zeros(2, device="cpu").device.type == "cpu"  # explicit device wins
        assert gt.zeros_like(gt.zeros(2, device="cpu")).device.type == "cpu"
    finally:
        gt.set_default_device(None)
    assert gt.zeros(1).device.type == "cpu"


def test_device_as_context_manager():
    with gt.device("cuda") as d:
        assert d == gt.device("cuda")
        assert gt.zeros(2).is_cuda and gt.get_default_device().type == "cuda"
        with gt.device("cpu"):
            assert gt.zeros(2).is_cpu
        assert gt.randn(2).is_cuda
    assert gt.zeros(2).is_cpu and gt.get_default_device() == gt.device("cpu")
    with pytest.raises(ZeroDivisionError):
        with gt.device("cuda"):
            1 / 0
    assert gt.get_default_device().type == "cpu"  # restored after an exception


def test_tensor_device_flags(device):
    t, r = gt.zeros(2, device=device), torch.zeros(2)
    assert (t.is_cuda, t.is_cpu) == (device == "cuda", device == "cpu")
    for name in ("is_xpu", "is_mps", "is_meta"):
        assert getattr(t, name) is False and getattr(r, name) is False
    assert r.is_cpu and not r.is_cuda


def test_backend_flags():
    cudnn, tcudnn = gt.backends.cudnn, torch.backends.cudnn
    for name in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        assert getattr(cudnn, name) == getattr(tcudnn, name), name
    saved = cudnn.benchmark, cudnn.deterministic
    try:
        cudnn.benchmark, cudnn.deterministic = True, True
        assert gt.backends.cudnn.benchmark and gt.backends.cudnn.deterministic
    finally:
        cudnn.benchmark, cudnn.deterministic = saved
    with cudnn.flags(enabled=False, deterministic=True):
        assert not cudnn.enabled and cudnn.deterministic
    assert cudnn.enabled and cudnn.deterministic == saved[1]
    assert gt.backends.mps.is_available() is False and gt.backends.mps.is_built() is False
    assert gt.backends.cuda.matmul.allow_tf32 is False  # torch's default
    gt.backends.cuda.matmul.allow_tf32 = True
    gt.backends.cuda.matmul.allow_tf32 = False


# -- legacy constructors -------------------------------------------------------------------------

LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
          "ByteTensor", "CharTensor", "BoolTensor"]


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_constructors_match_torch(name):
    g, t = getattr(gt, name), getattr(torch, name)
    assert g(2, 3).shape == t(2, 3).shape and g(2, 3).dtype.name == str(t(2, 3).dtype)[6:]
    data = [[1, 0], [1, 1]]
    np.testing.assert_array_equal(to_np(g(data)), t(data).numpy())
    assert tuple(g().shape) == tuple(t().shape) == (0,)
    assert tuple(g(gt.Size([4])).shape) == (4,)
    assert isinstance(g(2), g) and isinstance(g(2), gt.Tensor) and type(g(2)) is gt.Tensor
    assert not issubclass(g, gt.Tensor) and not issubclass(t, torch.Tensor)
    assert repr(g) == f"<class 'gputensor.{name}'>"
    for other in LEGACY:
        assert isinstance(g(1), getattr(gt, other)) == isinstance(t(1), getattr(torch, other))


def test_legacy_constructor_rules():
    np.testing.assert_array_equal(to_np(gt.LongTensor([1.7, -2.2])),
                                  torch.LongTensor([1.7, -2.2]).numpy())
    with pytest.raises(TypeError):
        gt.FloatTensor(2.5)
    with pytest.raises(TypeError):
        gt.FloatTensor(gt.zeros(2, dtype=gt.float64))
    x = gt.zeros(2)
    y = gt.FloatTensor(x)
    y[0] = 5.0  # an alias of x, as torch's
    assert x[0].item() == 5.0
    assert isinstance(gt.zeros(2), gt.FloatTensor)
    assert not isinstance(gt.zeros(2), gt.DoubleTensor)
    assert not isinstance(gt.zeros(2, device="cuda"), gt.FloatTensor)


def test_cuda_legacy_constructors():
    t = gt.cuda.FloatTensor(2, 3)
    assert t.is_cuda and t.dtype is gt.float32 and tuple(t.shape) == (2, 3)
    assert gt.cuda.LongTensor([1, 2]).dtype is gt.int64
    assert isinstance(t, gt.cuda.FloatTensor) and not isinstance(t, gt.FloatTensor)
    assert repr(gt.cuda.FloatTensor) == "<class 'gputensor.cuda.FloatTensor'>"
    with pytest.raises(RuntimeError):
        gt.cuda.FloatTensor(2, device="cpu")
    with pytest.raises(AttributeError):
        gt.cuda.NotATensor


def test_tensor_type_names_and_casts():
    x = gt.zeros(2)
    assert x.type() == "gputensor.FloatTensor"  # torch: "torch.FloatTensor" (README notes it)
    assert gt.zeros(2, dtype=gt.int64, device="cuda").type() == "gputensor.cuda.LongTensor"
    for spec in ("torch.DoubleTensor", "gputensor.DoubleTensor", gt.DoubleTensor, gt.float64):
        assert x.type(spec).dtype is gt.float64 and x.type(spec).is_cpu
    c = x.type("torch.cuda.IntTensor")
    assert c.is_cuda and c.dtype is gt.int32
    assert c.type(gt.LongTensor).is_cpu
    with pytest.raises(ValueError):
        x.type("torch.NoSuchTensor")


# -- torch's module paths --------------------------------------------------------------------------

def _torch_module_files():
    import torch.nn.modules as tm
    for info in pkgutil.iter_modules(tm.__path__):
        mod = importlib.import_module(f"torch.nn.modules.{info.name}")
        names = getattr(mod, "__all__", None)
        if names:
            yield info.name, list(names)


@pytest.mark.parametrize("modname,names", list(_torch_module_files()))
def test_nn_modules_paths(modname, names):
    """Every layer gputensor.nn exports is importable from torch's file for it."""
    exported = [n for n in names if hasattr(gt.nn, n)]
    mod = importlib.import_module(f"gputensor.nn.modules.{modname}")  # the path exists even
    # where gputensor has none of the file's layers yet (e.g. ``adaptive``)
    for n in exported:
        assert getattr(mod, n) is getattr(gt.nn, n), f"gputensor.nn.modules.{modname}.{n}"
    with pytest.raises(AttributeError):
        getattr(mod, "NotALayer")


def test_named_module_paths():
    from gputensor.nn import init  # noqa: F401
    from gputensor.nn.modules.activation import MultiheadAttention
    from gputensor.nn.modules.batchnorm import BatchNorm2d
    from gputensor.nn.modules.linear import Linear, NonDynamicallyQuantizableLinear
    from gputensor.nn.modules.utils import _pair, _single, _triple
    from gputensor.nn.parameter import Parameter
    assert MultiheadAttention is gt.nn.MultiheadAttention and BatchNorm2d is gt.nn.BatchNorm2d
    assert issubclass(NonDynamicallyQuantizableLinear, Linear)
    assert isinstance(gt.nn.MultiheadAttention(4, 2).out_proj, Linear)
    assert Parameter is gt.nn.Parameter
    assert (_single(2), _pair(3), _triple((1, 2, 3))) == ((2,), (3, 3), (1, 2, 3))


# -- DistributedSampler ----------------------------------------------------------------------------

@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (9, 3, False),
                                                  (2, 4, False), (11, 4, True)])
def test_distributed_sampler_unshuffled_matches_torch(n, replicas, drop_last):
    from torch.utils.data.distributed import DistributedSampler as TS

    from gputensor.utils.data.distributed import DistributedSampler as GS
    data = list(range(n))
    for rank in range(replicas):
        g = GS(data, num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        t = TS(data, num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        assert list(g) == list(t) and len(g) == len(t)


def test_distributed_sampler_shuffle_partitions_and_epochs():
    from gputensor.utils.data import DataLoader, DistributedSampler
    data = list(range(13))
    shards = [list(DistributedSampler(data, num_replicas=3, rank=r, seed=7)) for r in range(3)]
    assert all(len(s) == 5 for s in shards)
    flat = sorted(sum(shards, []))
    assert set(flat) == set(data) and len(flat) == 15  # padded by wrapping around
    s = DistributedSampler(data, num_replicas=3, rank=0, seed=7)
    first = list(s)
    assert list(s) == first  # same epoch, same order
    s.set_epoch(1)
    assert list(s) != first and sorted(list(s)) != []
    again = DistributedSampler(data, num_replicas=3, rank=0, seed=7)
    again.set_epoch(1)
    assert list(again) == list(s)
    batches = list(DataLoader(gt.arange(13), batch_size=2, sampler=s))
    assert sum(len(b) for b in batches) == 5


def test_distributed_sampler_errors():
    from gputensor.utils.data.distributed import DistributedSampler
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedSampler(list(range(4)))
    with pytest.raises(ValueError,
                       match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(list(range(4)), num_replicas=2, rank=2)


# -- Dropout2d/3d on unusual ranks -----------------------------------------------------------------

@pytest.mark.parametrize("fn,shape", [("dropout2d", (6, 40)), ("dropout2d", (4, 6, 30)),
                                      ("dropout2d", (2, 3, 4, 5)), ("dropout3d", (6, 40)),
                                      ("dropout3d", (2, 3, 4, 5, 6)),
                                      ("dropout2d", (2, 3, 2, 2, 2))])
def test_feature_dropout_warnings_and_masks(fn, shape):
    def run(lib, f):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            y = f(lib.ones(shape), 0.5, True)
        return y, [str(x.message) for x in w if issubclass(x.category, UserWarning)]
    gy, gw = run(gt, getattr(F, fn))
    ty, tw = run(torch, getattr(torch.nn.functional, fn))
    assert gw == tw
    y = to_np(gy)
    # the mask is constant over the dims torch's feature dropout shares it across
    lead = 2 if fn == "dropout2d" or len(shape) == 5 else 1
    flat = y.reshape(shape[:lead] + (-1,))
    assert np.all(flat == flat[..., :1])
    assert set(np.unique(y)) <= {0.0, 2.0}


def test_dropout2d_layer_on_2d_input_warns():
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        out = gt.nn.Dropout2d()(gt.ones(3, 4))
    assert tuple(out.shape) == (3, 4)
    with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gt.nn.Dropout2d()(gt.ones(5))


# -- detach_ and data_ptr --------------------------------------------------------------------------

@pytest.mark.parametrize("lib", [gt, torch], ids=["gputensor", "torch"])
def test_detach_inplace(lib):
    a = lib.ones(3, requires_grad=True)
    b = a * 2
    out = b.detach_()
    assert out is b and b.grad_fn is None and not b.requires_grad and b.is_leaf
    assert a.requires_grad  # the leaf is untouched
    c = lib.ones(2, requires_grad=True)
    c.detach_()
    assert not c.requires_grad
    (a * 3).sum().backward()  # the rest of the graph still works
    assert a.grad.tolist() == [3.0, 3.0, 3.0]


@pytest.mark.parametrize("lib", [gt, torch], ids=["gputensor", "torch"])
def test_data_ptr_semantics(lib):
    x = lib.zeros(4, 3)
    assert x.data_ptr() != 0
    assert x.view(12).data_ptr() == x.data_ptr() == x.detach().data_ptr() == x.data.data_ptr()
    assert x[1].data_ptr() == x.data_ptr() + 3 * x.element_size()
    assert x[:, 1].data_ptr() == x.data_ptr() + x.element_size()
    assert x.clone().data_ptr() != x.data_ptr()
    y = lib.zeros(4, 3)
    assert y.data_ptr() != x.data_ptr()


def test_data_ptr_cuda():
    x = gt.zeros(4, 3, device="cuda")
    assert x.data_ptr() != 0 and x[1].data_ptr() == x.data_ptr() + 12
    assert x.clone().data_ptr() != x.data_ptr()


def test_set_default_tensor_type():
    try:
        with pytest.warns(UserWarning, match="set_default_tensor_type\\(\\) is deprecated"):
            gt.set_default_tensor_type(gt.DoubleTensor)
        assert gt.zeros(1).dtype is gt.float64 and gt.get_default_dtype() is gt.float64
        with pytest.warns(UserWarning):
            gt.set_default_tensor_type("torch.cuda.FloatTensor")
        assert gt.zeros(1).is_cuda and gt.zeros(1).dtype is gt.float32
        with pytest.raises(TypeError, match="only floating-point types"), pytest.warns(UserWarning):
            gt.set_default_tensor_type(gt.LongTensor)
    finally:
        gt.set_default_dtype(gt.float32)
        gt.set_default_device(None)


def test_module_paths_as_attributes_and_private_bases():
    """``nn.modules.batchnorm._BatchNorm`` without importing the file, as init loops use it."""
    mods = gt.nn.modules
    assert isinstance(gt.nn.BatchNorm2d(3), mods.batchnorm._BatchNorm)
    assert issubclass(gt.nn.MSELoss, mods.loss._Loss)
    assert issubclass(gt.nn.Conv2d, mods.conv._ConvNd)
    assert mods.activation.MultiheadAttention is gt.nn.MultiheadAttention
    assert mods.utils._pair(2) == (2, 2)
