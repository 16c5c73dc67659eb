"""The fused recurrent Functions (ops.rnn_fused) against torch: outputs, final states and the
gradients of input, h0, c0 and every weight and bias, for RNN(tanh, relu)/LSTM/GRU x layers x
bidirectional x batch_first; float64 gradchecks of the Function itself (weights included) on cpu
and the simulated cuda device; double backward; the fast float32 tanh of the cpu kernels."""
import itertools

import numpy as np
import pytest
import torch
from helpers import to_gt, to_np

import gputensor as gt
from gputensor.ops.rnn_fused import FusedRecurrence

IN, H, T, B = 2, 3, 3, 2
MODES = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]


def twin(name, *args, device="cpu", dtype=np.float32, **kw):
    t_mod = getattr(torch.nn, name)(*args, **kw).to(getattr(torch, np.dtype(dtype).name))
    g_mod = getattr(gt.nn, name)(*args, **kw).to(getattr(gt, np.dtype(dtype).name))
    g_mod.load_state_dict({k: gt.tensor(v.detach().numpy()) for k, v in t_mod.state_dict().items()})
    return t_mod, g_mod.to(device)


def flat(out) -> list:
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flat(o)]
    return [out]


def compare(t_mod, g_mod, arrays, device, atol=2e-5, rtol=1e-4):
    """Forward both, backward sum(out_i * w_i) over every output; compare all gradients."""
    t_in = [torch.from_numpy(a).requires_grad_(True) for a in arrays]
    g_in = [to_gt(a, device, True) for a in arrays]

    def call(mod, ins):
        x, *st = ins
        return mod(x) if not st else mod(x, tuple(st) if len(st) == 2 else st[0])
    t_outs, g_outs = flat(call(t_mod, t_in)), flat(call(g_mod, g_in))
    rng = np.random.default_rng(3)
    t_loss = g_loss = 0
    for to, go in zip(t_outs, g_outs, strict=True):
        assert tuple(go.shape) == tuple(to.shape)
        np.testing.assert_allclose(to_np(go), to.detach().numpy(), atol=atol, rtol=rtol)
        w = rng.standard_normal(tuple(to.shape)).astype(arrays[0].dtype)
        t_loss = t_loss + (to * torch.from_numpy(w)).sum()
        g_loss = g_loss + (go * to_gt(w, device)).sum()
    t_loss.backward()
    g_loss.backward()
    for ti, gi in zip(t_in, g_in):
        np.testing.assert_allclose(to_np(gi.grad), ti.grad.numpy(), atol=atol, rtol=rtol)
    g_params = dict(g_mod.named_parameters())
    for name, p in t_mod.named_parameters():
        np.testing.assert_allclose(to_np(g_params[name].grad), p.grad.numpy(), atol=atol,
                                   rtol=rtol, err_msg=name)


def inputs(rng, name, cfg, with_state, dtype=np.float32, t=T, b=B):
    shape = (b, t, IN) if cfg.get("batch_first") else (t, b, IN)
    arrays = [rng.standard_normal(shape).astype(dtype)]
    if with_state:
        n = cfg.get("num_layers", 1) * (2 if cfg.get("bidirectional") else 1)
        arrays += [rng.standard_normal((n, b, H)).astype(dtype)
                   for _ in range(2 if name == "LSTM" else 1)]
    return arrays


GRID = [dict(num_layers=nl, bidirectional=bd, batch_first=bf)
        for nl, bd, bf in itertools.product((1, 2), (False, True), (False, True))]


@pytest.mark.parametrize("name,mkw", MODES)
@pytest.mark.parametrize("cfg", GRID, ids=lambda c: "-".join(f"{k}{int(v)}" for k, v in c.items()))
@pytest.mark.parametrize("with_state", [True, False])
def test_grid_vs_torch_cpu(name, mkw, cfg, with_state, rng):
    t_mod, g_mod = twin(name, IN, H, **mkw, **cfg)
    compare(t_mod, g_mod, inputs(rng, name, cfg, with_state, t=5, b=3), "cpu")


@pytest.mark.parametrize("name,mkw", MODES)
def test_simulated_cuda_vs_torch(name, mkw, rng, device):
    cfg = dict(num_layers=2, bidirectional=True, batch_first=True)
    t_mod, g_mod = twin(name, IN, H, device=device, **mkw, **cfg)
    compare(t_mod, g_mod, inputs(rng, name, cfg, True), device)


@pytest.mark.parametrize("name,mkw", MODES)
def test_no_bias_and_float64_exact(name, mkw, rng):
    cfg = dict(num_layers=2, bias=False, bidirectional=True)
    t_mod, g_mod = twin(name, IN, H, dtype=np.float64, **mkw, **cfg)
    compare(t_mod, g_mod, inputs(rng, name, cfg, True, dtype=np.float64, t=4), "cpu",
            atol=1e-12, rtol=1e-10)


def test_unbatched_and_large_hidden(rng):
    """2-D input, and a hidden size past the SIMD width (the vector loops and their tails)."""
    t_mod, g_mod = twin("LSTM", IN, 37, bidirectional=True)
    x = rng.standard_normal((4, IN)).astype(np.float32)
    hc = [rng.standard_normal((2, 37)).astype(np.float32) for _ in range(2)]
    compare(t_mod, g_mod, [x] + hc, "cpu", atol=5e-5)
    t_mod, g_mod = twin("GRU", IN, 37)
    compare(t_mod, g_mod, [rng.standard_normal((6, 5, IN)).astype(np.float32)], "cpu",
            atol=5e-5)


GRADCHECK = [(m, r, s, d) for m in ("RNN_TANH", "RNN_RELU", "LSTM", "GRU") for r in (False, True)
             for s in (True, False) for d in ("cpu", "cuda")
             # the simulator is slow (each gradcheck launches the step kernels thousands of
             # times): on cuda, one case per kernel family, on smaller shapes below
             if d == "cpu" or (s and (m, r) in (("LSTM", True), ("GRU", False),
                                                ("RNN_TANH", False)))]


@pytest.mark.parametrize("mode,reverse,state,device", GRADCHECK)
def test_gradcheck_function(mode, reverse, state, device, rng):
    """Every input of the fused Function, weights and biases included, in float64."""
    t, b, i, h = (T, B, IN, H) if device == "cpu" else (2, 1, 2, 2)
    g = {"LSTM": 4, "GRU": 3}.get(mode, 1) * h
    shapes = [(t, b, i), (b, h), (b, h), (g, i), (g, h), (g,), (g,)]
    ts = [to_gt(rng.standard_normal(s) * (0.8 if i < 3 else 0.6), device, True)
          for i, s in enumerate(shapes)]
    if mode == "RNN_RELU":  # keep pre-activations away from relu's kink
        ts[5] = to_gt(np.full((g,), 0.4) + rng.uniform(0, 0.1, g), device, True)
    if not state:
        ts[1] = ts[2] = None
    if mode != "LSTM":
        ts[2] = None

    def fn(*args):
        return FusedRecurrence.apply(*args, mode, reverse)
    assert gt.autograd.gradcheck(fn, ts, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_double_backward_vs_torch(name, rng):
    """create_graph=True through the fused Function: the gradient's gradient matches torch."""
    t_mod, g_mod = twin(name, IN, H, dtype=np.float64, num_layers=2)
    x = rng.standard_normal((T, B, IN))
    res = []
    for lib, mod in ((torch, t_mod), (gt, g_mod)):
        xt = lib.tensor(x, requires_grad=True)
        out = mod(xt)[0]
        (gx,) = lib.autograd.grad((out ** 2).sum(), xt, create_graph=True)
        w_ih = mod.weight_ih_l0
        (gw,) = lib.autograd.grad((gx ** 2).sum(), w_ih)
        res.append((gx.detach().numpy(), gw.detach().numpy()))
    for a, b in zip(*res):
        np.testing.assert_allclose(b, a, atol=1e-10, rtol=1e-8)


@pytest.mark.parametrize("name", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cells_use_the_fused_step(name, rng, device):
    t_mod, g_mod = twin(name, IN, H, device=device)
    x = rng.standard_normal((B, IN)).astype(np.float32)
    out = g_mod(to_gt(x, device, True))
    h = out[0] if name == "LSTMCell" else out
    assert type(h.grad_fn).__name__ == "FusedRecurrenceBackward0"
    t_out = t_mod(torch.from_numpy(x))
    for go, to in zip(flat(out), flat(t_out)):
        np.testing.assert_allclose(to_np(go), to.detach().numpy(), atol=2e-5)


def test_packed_sequence_still_matches_torch(rng):
    from torch.nn.utils.rnn import pack_padded_sequence as t_pack
    t_mod, g_mod = twin("LSTM", IN, H, bidirectional=True)
    x = rng.standard_normal((4, 3, IN)).astype(np.float32)
    lengths = [4, 2, 3]
    t_out, (t_h, _) = t_mod(t_pack(torch.from_numpy(x), lengths, enforce_sorted=False))
    g_out, (g_h, _) = g_mod(gt.nn.utils.rnn.pack_padded_sequence(gt.tensor(x), lengths,
                                                                 enforce_sorted=False))
    np.testing.assert_allclose(to_np(g_out.data), t_out.data.detach().numpy(), atol=2e-5)
    np.testing.assert_allclose(to_np(g_h), t_h.detach().numpy(), atol=2e-5)


def test_inplace_change_of_output_is_caught():
    lstm = gt.nn.LSTM(IN, H)
    out, _ = lstm(gt.ones((T, B, IN)))
    out.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_float16_computes_in_float32(rng):
    t_mod, g_mod = twin("GRU", IN, H)
    x = rng.standard_normal((T, B, IN)).astype(np.float16)
    out = g_mod.half()(gt.tensor(x))[0]
    assert out.dtype == gt.float16
    ref = t_mod(torch.from_numpy(x.astype(np.float32)))[0].detach().numpy()
    np.testing.assert_allclose(to_np(out).astype(np.float32), ref, atol=3e-3)


def test_fast_tanh_accuracy():
    from gputensor.kernels import rnn_cpu
    x = np.concatenate([np.linspace(-12, 12, 20001), [0.0, 1e-6, -1e-6]]).astype(np.float32)
    gi = x.reshape(1, -1)
    zeros = np.zeros_like(gi)
    h = np.empty_like(gi)
    d = np.zeros((1, 1), np.float32)
    rnn_cpu.step_forward(rnn_cpu.MODE_TANH, True, gi, zeros, zeros[0], zeros, d, h, d.copy(),
                         np.empty_like(gi))
    assert np.abs(h[0] - np.tanh(x.astype(np.float64))).max() < 5e-7
    nan = np.full((1, 4), np.nan, np.float32)
    rnn_cpu.step_forward(rnn_cpu.MODE_TANH, True, nan, zeros[:, :4], zeros[0, :4], zeros[:, :4],
                         d, h[:, :4], d.copy(), np.empty_like(nan))
    assert np.isnan(h[0, :4]).all()
