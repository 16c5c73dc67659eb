"""conv_transpose3d and nn.ConvTranspose3d against torch: values, gradients (input, weight,
bias), float64 gradcheck, stride/padding/output_padding/groups/dilation combinations (including
output_padding >= stride and taps wholly inside the cropped padding), module, errors."""
import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op, to_gt

CASES = [  # (x shape, w shape, kwargs)
    ((1, 2, 2, 2, 2), (2, 1, 2, 2, 2), dict(stride=2, padding=1, output_padding=1, groups=2)),
    ((2, 4, 3, 2, 3), (4, 3, 3, 2, 2), dict(stride=(2, 1, 3), padding=(1, 0, 1),
                                            output_padding=(1, 0, 2), groups=2,
                                            dilation=(2, 1, 1))),
    # output_padding >= stride (allowed as < dilation): extends past the full result
    ((1, 1, 2, 2, 2), (1, 1, 3, 2, 2), dict(stride=1, padding=2, output_padding=1, dilation=2)),
    # every tap lands in the cropped padding: the output is the bias alone
    ((1, 4, 1, 1, 1), (4, 2, 1, 1, 1), dict(padding=1, stride=3, output_padding=2)),
    # some depth taps wholly cropped, others partly
    ((1, 3, 3, 2, 2), (3, 2, 2, 1, 1), dict(stride=(3, 1, 1), padding=(4, 0, 0),
                                            output_padding=(2, 0, 0), dilation=(3, 1, 1))),
    ((1, 2, 2, 3, 1), (2, 3, 1, 2, 3), dict(stride=[2], padding=(0, 1, 1), dilation=(1, 2, 1))),
]


@pytest.mark.parametrize("xs, ws, kw", CASES)
def test_conv_transpose3d_matches_torch_cpu(xs, ws, kw, rng):
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[1] * kw.get("groups", 1))
    check_lib_op(lambda lib, x, w, b: lib.nn.functional.conv_transpose3d(x, w, b, **kw),
                 x, w, b, device="cpu")


@pytest.mark.parametrize("xs, ws, kw", [  # tiny: each gradcheck step is a simulated launch
    ((1, 2, 2, 1, 1), (2, 1, 2, 1, 1), dict(stride=2, padding=(1, 0, 0),
                                            output_padding=(1, 0, 0), groups=2)), CASES[2]])
def test_conv_transpose3d_matches_torch_cuda(xs, ws, kw, rng):
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[1] * kw.get("groups", 1))
    check_lib_op(lambda lib, x, w, b: lib.nn.functional.conv_transpose3d(x, w, b, **kw),
                 x, w, b, device="cuda")


def test_conv_transpose3d_unbatched_float32_no_bias(device, rng):
    x = rng.standard_normal((2, 2, 1, 3)).astype(np.float32)
    w = rng.standard_normal((2, 1, 2, 1, 2)).astype(np.float32)
    check_lib_op(lambda lib, x, w: lib.conv_transpose3d(x, w, stride=2, padding=(0, 0, 1)),
                 x, w, device=device, grad=False)
    y = gt.conv_transpose3d(to_gt(x, device), to_gt(w, device))
    assert y.dtype == gt.float32 and tuple(y.shape) == (1, 3, 1, 4) and y.device.type == device


def test_conv_transpose3d_larger_float32_cpu(rng):
    x = rng.standard_normal((2, 6, 4, 5, 3)).astype(np.float32)
    w = rng.standard_normal((6, 2, 3, 3, 2)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    check_lib_op(lambda lib, x, w, b: lib.nn.functional.conv_transpose3d(
        x, w, b, stride=(2, 2, 1), padding=1, output_padding=(1, 0, 0), groups=3,
        dilation=(1, 2, 2)), x, w, b, device="cpu", grad=False, atol=1e-4)


def test_conv_transpose3d_double_backward(rng):
    x, w = rng.standard_normal((1, 2, 2, 2, 1)), rng.standard_normal((2, 1, 2, 2, 1))
    inputs = [to_gt(x, "cpu", True), to_gt(w, "cpu", True)]
    f = gt.nn.functional.conv_transpose3d
    assert gt.autograd.gradgradcheck(lambda x, w: f(x, w, stride=(2, 1, 1), padding=(1, 0, 0)),
                                     inputs)


def test_conv_transpose3d_is_adjoint_of_conv3d(rng):
    """<conv3d(a, w), b> == <a, conv_transpose3d(b, w)> for the same weight and arguments."""
    kw = dict(stride=(2, 1, 2), padding=(1, 1, 0), dilation=(1, 2, 1), groups=2)
    w = gt.tensor(rng.standard_normal((4, 1, 3, 2, 2)))
    a = gt.tensor(rng.standard_normal((1, 2, 6, 5, 5)))
    y = gt.nn.functional.conv3d(a, w, **kw)
    b = gt.tensor(rng.standard_normal(tuple(y.shape)))
    back = gt.nn.functional.conv_transpose3d(b, w, output_padding=(1, 0, 1), **kw)
    assert tuple(back.shape) == tuple(a.shape)
    np.testing.assert_allclose((y * b).sum().item(), (a * back).sum().item(), rtol=1e-10)


def test_conv_transpose3d_module_matches_torch(rng):
    kw = dict(stride=2, padding=1, output_padding=1, groups=2, dilation=(1, 2, 1))
    m_t = torch.nn.ConvTranspose3d(4, 6, (3, 2, 1), **kw)
    m_g = gt.nn.ConvTranspose3d(4, 6, (3, 2, 1), **kw)
    assert repr(m_g) == repr(m_t)
    sd_t, sd_g = m_t.state_dict(), m_g.state_dict()
    assert list(sd_g) == list(sd_t) == ["weight", "bias"]
    assert all(tuple(sd_g[k].shape) == tuple(sd_t[k].shape) for k in sd_t)
    assert tuple(m_g.weight.shape) == (4, 3, 3, 2, 1)
    m_g.load_state_dict({k: gt.tensor(v.detach().numpy()) for k, v in sd_t.items()})
    x = rng.standard_normal((1, 4, 3, 2, 2)).astype(np.float32)
    y_t, y_g = m_t(torch.from_numpy(x)), m_g(gt.tensor(x))
    np.testing.assert_allclose(y_g.detach().numpy(), y_t.detach().numpy(), atol=1e-5)
    y_g.sum().backward()
    y_t.sum().backward()
    for p_g, p_t in ((m_g.weight, m_t.weight), (m_g.bias, m_t.bias)):
        np.testing.assert_allclose(p_g.grad.numpy(), p_t.grad.numpy(), atol=1e-4)


def test_conv_transpose3d_module_cuda_init_repr():
    m = gt.nn.ConvTranspose3d(4, 6, 3, groups=2, bias=False, device="cuda")
    assert m.weight.device.type == "cuda" and m.bias is None and list(m.state_dict()) == ["weight"]
    assert tuple(m.weight.shape) == (4, 3, 3, 3, 3)
    bound = 1 / np.sqrt(3 * 27)  # fan_in = weight.size(1) * receptive field, as torch
    w = m.weight.detach().cpu().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.5 * bound
    for args, kw in [((4, 6, 3), {}), ((2, 4, (5, 1, 2)), dict(stride=3, output_padding=2)),
                     ((2, 2, 1), dict(padding=(1, 0, 2), bias=False))]:
        assert repr(gt.nn.ConvTranspose3d(*args, **kw)) == repr(torch.nn.ConvTranspose3d(*args,
                                                                                         **kw))


@pytest.mark.parametrize("size", [[8, 8, 8], [1, 6, 7, 8, 8], (8, 7, 7)])
def test_conv_transpose3d_output_size(size):
    m_g, m_t = gt.nn.ConvTranspose3d(4, 6, 3, stride=2), torch.nn.ConvTranspose3d(4, 6, 3, 2)
    y_g = m_g(gt.zeros(1, 4, 3, 3, 3), output_size=size)
    y_t = m_t(torch.zeros(1, 4, 3, 3, 3), output_size=size)
    assert tuple(y_g.shape) == tuple(y_t.shape)
    unbatched = gt.nn.ConvTranspose3d(2, 3, 3, stride=3)(gt.zeros(2, 1, 2, 1),
                                                        output_size=[5, 6, 4])
    assert tuple(unbatched.shape) == (3, 5, 6, 4)


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.ConvTranspose3d(4, 6, 3, stride=2)(lib.zeros(1, 4, 3, 3, 3),
                                                          output_size=[7, 8, 9]),
    lambda lib: lib.nn.ConvTranspose3d(4, 6, 3)(lib.zeros(1, 4, 3, 3, 3), output_size=[8, 8]),
    lambda lib: lib.nn.ConvTranspose3d(4, 6, 3, padding_mode="reflect"),
    lambda lib: lib.nn.ConvTranspose3d(4, 6, 3, groups=4),
    lambda lib: lib.nn.ConvTranspose3d(3, 6, 3, groups=2),
])
def test_conv_transpose3d_module_errors(call):
    with pytest.raises(ValueError) as want:
        call(torch)
    with pytest.raises(ValueError) as got:
        call(gt)
    assert str(got.value).replace("gputensor.", "torch.") == str(want.value)


X, W = (1, 4, 3, 3, 3), (4, 2, 3, 3, 3)


@pytest.mark.parametrize("xs, ws, kw", [
    (X, W, dict(stride=2, output_padding=2)),
    (X, W, dict(stride=(2, 1, 1), output_padding=(0, 1, 0))),
    ((1, 3, 3, 3, 3), W, {}),
    ((3, 3), W, {}),
    (X, (4, 2, 3, 3), {}),
    (X, (4, 2, 3, 3), dict(stride=(1, 1))),
    (X, W, dict(groups=3)),
    (X, W, dict(groups=3, output_padding=3)),
    (X, W, dict(padding=4)),
    (X, W, dict(padding=(4, 0, 0))),
    (X, W, dict(padding=4, bias=3)),
    (X, W, dict(stride=0)),
    (X, W, dict(stride=0, padding=-1)),
    (X, W, dict(dilation=0)),
    (X, W, dict(dilation=(1, 0, 1))),
    (X, W, dict(dilation=-1)),
    (X, W, dict(groups=0)),
    (X, W, dict(output_padding=-1)),
    (X, W, dict(stride=(1, 1))),
    (X, W, dict(output_padding=(1, 2))),
    (X, W, dict(bias=3)),
])
def test_conv_transpose3d_errors_match_torch(xs, ws, kw):
    kw = dict(kw)
    nb = kw.pop("bias", None)

    def run(lib):
        b = lib.zeros(nb) if nb else None
        return lib.nn.functional.conv_transpose3d(lib.zeros(*xs), lib.zeros(*ws), b, **kw)
    with pytest.raises(RuntimeError) as want:
        run(torch)
    with pytest.raises(RuntimeError) as got:
        run(gt)
    assert str(got.value) == str(want.value)


def test_conv_transpose3d_dtype_errors():
    for lib in (torch, gt):
        with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
            lib.conv_transpose3d(lib.zeros(1, 2, 2, 2, 2), lib.zeros(2, 1, 1, 1, 1,
                                                                     dtype=lib.float64))
        with pytest.raises(RuntimeError, match="expected scalar type Double but found Float"):
            lib.conv_transpose3d(lib.zeros(1, 2, 2, 2, 2, dtype=lib.float64),
                                 lib.zeros(2, 1, 1, 1, 1, dtype=lib.float64), lib.zeros(1))
        with pytest.raises(TypeError, match="must be tuple of ints, not str"):
            lib.conv_transpose3d(lib.zeros(1, 2, 2, 2, 2), lib.zeros(2, 1, 1, 1, 1),
                                 padding="same")
