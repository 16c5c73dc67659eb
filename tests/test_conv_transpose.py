"""conv_transpose1d/2d and nn.ConvTranspose1d/2d against torch on cpu and cuda: values,
gradients (via conv2d and conv backward-weight), gradcheck, output_size, init, repr, errors."""
import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op, to_gt

CASES_2D = [  # (x shape, w shape, kwargs); tiny: each gradcheck step is a simulated launch
    ((1, 2, 2, 2), (2, 1, 2, 2), dict(stride=2, padding=1, output_padding=1, groups=2)),
    ((1, 1, 2, 2), (1, 2, 2, 3), dict(stride=(1, 2), padding=(0, 1), dilation=(2, 1))),
    # output_padding >= stride (allowed as < dilation): the crop-and-extend path
    ((1, 1, 2, 2), (1, 1, 3, 2), dict(stride=1, padding=2, output_padding=1, dilation=2)),
    ((1, 2, 1, 2), (2, 1, 1, 1), dict(stride=3, output_padding=2, groups=2)),
]


@pytest.mark.parametrize("xs, ws, kw", CASES_2D)
def test_conv_transpose2d_matches_torch(xs, ws, kw, device, rng):
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[1] * kw.get("groups", 1))
    check_lib_op(lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(x, w, b, **kw),
                 x, w, b, device=device)


def test_conv_transpose2d_larger_cpu(rng):
    x, w, b = rng.standard_normal((2, 4, 3, 4)), rng.standard_normal((4, 3, 3, 2)), \
        rng.standard_normal(6)
    check_lib_op(lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(
        x, w, b, stride=2, padding=1, output_padding=1, groups=2, dilation=(2, 1)), x, w, b,
        device="cpu")


def test_conv_transpose2d_float32_unbatched_no_bias(device, rng):
    x = rng.standard_normal((3, 3, 2)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    check_lib_op(lambda lib, x, w: lib.conv_transpose2d(x, w, stride=2, padding=1), x, w,
                 device=device, grad=False)


@pytest.mark.parametrize("kw", [dict(stride=2, padding=1, output_padding=1),
                                dict(stride=3, dilation=2, groups=2, output_padding=2),
                                dict(dilation=3, output_padding=2, padding=1)])
def test_conv_transpose1d_matches_torch(kw, device, rng):
    x, w = rng.standard_normal((1, 2, 3)), rng.standard_normal((2, 1, 3))
    b = rng.standard_normal(kw.get("groups", 1))
    check_lib_op(lambda lib, x, w, b: lib.nn.functional.conv_transpose1d(x, w, b, **kw),
                 x, w, b, device=device)
    check_lib_op(lambda lib, x: lib.conv_transpose1d(x, torch_or(lib, w), **kw), x[0],
                 device="cpu")


def torch_or(lib, a):
    return lib.tensor(a)


def test_conv_transpose_double_backward(rng):
    x, w = rng.standard_normal((1, 2, 3, 2)), rng.standard_normal((2, 2, 2, 3))
    inputs = [to_gt(x, "cpu", True), to_gt(w, "cpu", True)]
    f = gt.nn.functional.conv_transpose2d
    assert gt.autograd.gradgradcheck(lambda x, w: f(x, w, stride=2, padding=(1, 0)), inputs)


def test_conv_transpose2d_module_matches_torch(device, rng):
    m_t = torch.nn.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, output_padding=1,
                                   groups=2, dilation=(1, 2))
    m_g = gt.nn.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, output_padding=1, groups=2,
                                dilation=(1, 2), device=device)
    assert repr(m_g) == repr(m_t)
    assert tuple(m_g.weight.shape) == tuple(m_t.weight.shape) == (4, 3, 3, 2)
    m_g.weight.data = gt.tensor(m_t.weight.detach().numpy(), device=device)
    m_g.bias.data = gt.tensor(m_t.bias.detach().numpy(), device=device)
    x = rng.standard_normal((1, 4, 3, 2)).astype(np.float32)
    y_t, y_g = m_t(torch.from_numpy(x)), m_g(gt.tensor(x, device=device))
    np.testing.assert_allclose(y_g.detach().cpu().numpy(), y_t.detach().numpy(), atol=1e-5)
    y_g.sum().backward()
    y_t.sum().backward()
    np.testing.assert_allclose(m_g.weight.grad.cpu().numpy(), m_t.weight.grad.numpy(), atol=1e-4)


@pytest.mark.parametrize("size", [[12, 11], [1, 6, 12, 12], (11, 12)])
def test_conv_transpose_output_size(size):
    m_g, m_t = gt.nn.ConvTranspose2d(4, 6, 3, stride=2), torch.nn.ConvTranspose2d(4, 6, 3, 2)
    y_g, y_t = m_g(gt.zeros(1, 4, 5, 5), output_size=size), m_t(torch.zeros(1, 4, 5, 5),
                                                                 output_size=size)
    assert tuple(y_g.shape) == tuple(y_t.shape)
    one_d = gt.nn.ConvTranspose1d(2, 3, 3, stride=3)(gt.zeros(2, 4), output_size=[12])
    assert tuple(one_d.shape) == (3, 12)


def test_conv_transpose_module_init_and_repr():
    m = gt.nn.ConvTranspose2d(4, 6, 3, groups=2, bias=False)
    assert tuple(m.weight.shape) == (4, 3, 3, 3) and m.bias is None
    bound = 1 / np.sqrt(3 * 9)  # fan_in = weight.size(1) * receptive field, as torch
    w = m.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.5 * bound
    for args, kw in [((4, 6, 3), {}), ((2, 4, 5), dict(stride=3, output_padding=2))]:
        assert repr(gt.nn.ConvTranspose1d(*args, **kw)) == repr(torch.nn.ConvTranspose1d(*args,
                                                                                         **kw))


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.ConvTranspose2d(4, 6, 3, stride=2)(lib.zeros(1, 4, 5, 5),
                                                          output_size=[14, 12]),
    lambda lib: lib.nn.ConvTranspose2d(4, 6, 3)(lib.zeros(1, 4, 5, 5), output_size=[1, 2, 3]),
    lambda lib: lib.nn.ConvTranspose2d(4, 6, 3, padding_mode="reflect"),
    lambda lib: lib.nn.ConvTranspose2d(4, 6, 3, groups=4),
    lambda lib: lib.nn.ConvTranspose2d(3, 6, 3, groups=2),
])
def test_conv_transpose_module_errors(call):
    with pytest.raises(ValueError) as want:
        call(torch)
    with pytest.raises(ValueError) as got:
        call(gt)
    assert str(got.value).replace("gputensor.", "torch.") == str(want.value)


@pytest.mark.parametrize("xs, ws, kw", [
    ((1, 4, 5, 5), (4, 2, 3, 3), dict(stride=2, output_padding=2)),
    ((1, 3, 5, 5), (4, 2, 3, 3), {}),
    ((5, 5), (4, 2, 3, 3), {}),
    ((1, 4, 5, 5), (4, 2, 3, 3), dict(groups=3)),
    ((1, 4, 5, 5), (4, 2, 3, 3), dict(padding=4)),
    ((1, 4, 5, 5), (4, 2, 3, 3), dict(stride=0)),
    ((1, 4, 5, 5), (4, 2, 3, 3), dict(padding=-1)),
    ((1, 4, 5, 5), (4, 2, 3, 3), dict(bias=3)),
    ((1, 4, 5), (4, 2, 3), dict(padding=4)),
    ((1, 4, 5), (4, 2, 3), dict(stride=(1, 1))),
])
def test_conv_transpose_errors_match_torch(xs, ws, kw):
    kw = dict(kw)
    nb = kw.pop("bias", None)
    fn = "conv_transpose1d" if len(ws) == 3 else "conv_transpose2d"

    def run(lib):
        b = lib.zeros(nb) if nb else None
        return getattr(lib.nn.functional, fn)(lib.zeros(*xs), lib.zeros(*ws), b, **kw)
    with pytest.raises(RuntimeError) as want:
        run(torch)
    with pytest.raises(RuntimeError) as got:
        run(gt)
    assert str(got.value) == str(want.value)


def test_conv_transpose_padding_string_is_type_error():
    with pytest.raises(TypeError, match="must be tuple of ints, not str"):
        gt.conv_transpose2d(gt.zeros(1, 2, 3, 3), gt.zeros(2, 2, 3, 3), padding="same")


@pytest.mark.parametrize("fn,x_shape,w_shape", [("conv_transpose2d", (0, 2, 3, 3), (2, 3, 2, 2)),
                                                 ("conv_transpose3d", (0, 2, 2, 2, 2), (2, 3, 2, 2, 2))])
def test_conv_transpose_empty_batch(fn, x_shape, w_shape, device):
    """An empty batch gives an empty output of torch's shape and zero weight gradients."""
    x = gt.zeros(*x_shape, device=device, requires_grad=True)
    w = gt.ones(*w_shape, device=device, requires_grad=True)
    y = getattr(gt, fn)(x, w)
    assert tuple(y.shape) == tuple(getattr(torch, fn)(torch.zeros(x_shape), torch.ones(w_shape)).shape)
    y.sum().backward()
    assert tuple(x.grad.shape) == x_shape and float(w.grad.abs().sum()) == 0.0
