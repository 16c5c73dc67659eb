"""RNN / LSTM / GRU and cells against PyTorch with copied weights: outputs, final states and
every parameter's gradient (tiny sizes: the simulated cuda device runs each matmul slowly)."""
import numpy as np
import pytest
import torch
from helpers import check_grad, to_gt, to_np

import gputensor as gt

IN, H, T, B = 3, 3, 4, 2


def twin(name: str, *args, device: str, **kw):
    """The same layer in torch and gputensor, gputensor's holding torch's initial weights."""
    t_mod = getattr(torch.nn, name)(*args, **kw)
    g_mod = getattr(gt.nn, name)(*args, **kw)
    g_mod.load_state_dict({k: gt.tensor(v.detach().numpy()) for k, v in t_mod.state_dict().items()})
    return t_mod, g_mod.to(device)


def as_list(out) -> list:
    """Flatten (out, h) / (out, (h, c)) / h / (h, c) into a list of tensors."""
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in as_list(o)]
    return [] if out is None else [out]


def call(mod, inputs: list):
    """``mod(x)``, ``mod(x, h)`` or ``mod(x, (h, c))`` depending on how many inputs there are."""
    x, *state = inputs
    if not state:
        return mod(x)
    return mod(x, tuple(state) if len(state) == 2 else state[0])


def run_both(t_mod, g_mod, arrays: list, device: str, atol: float = 2e-5, call=call) -> None:
    """Forward both with the same inputs (through ``call(module, inputs)``), then backward
    sum(out_i * w_i); compare outputs, input gradients and every parameter's gradient."""
    t_in = [torch.from_numpy(a).requires_grad_(True) for a in arrays]
    g_in = [to_gt(a, device, True) for a in arrays]
    t_outs, g_outs = as_list(call(t_mod, t_in)), as_list(call(g_mod, g_in))
    assert len(t_outs) == len(g_outs)
    rng = np.random.default_rng(7)
    t_loss, g_loss = 0, 0
    for to, go in zip(t_outs, g_outs):
        assert tuple(go.shape) == tuple(to.shape)
        np.testing.assert_allclose(to_np(go), to.detach().numpy(), atol=atol, rtol=1e-4)
        w = rng.standard_normal(tuple(to.shape)).astype(np.float32)
        t_loss = t_loss + (to * torch.from_numpy(w)).sum()
        g_loss = g_loss + (go * to_gt(w, device)).sum()
    t_loss.backward()
    g_loss.backward()
    for ti, gi in zip(t_in, g_in):
        np.testing.assert_allclose(to_np(gi.grad), ti.grad.numpy(), atol=atol, rtol=1e-4)
    g_params = dict(g_mod.named_parameters())
    for name, p in t_mod.named_parameters():
        np.testing.assert_allclose(to_np(g_params[name].grad), p.grad.numpy(), atol=atol,
                                   rtol=1e-4, err_msg=name)


MODES = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]
CONFIGS = {  # (layer options, pass an initial state)
    "1layer": ({}, False),
    "2layer-bidir-batchfirst-h0": ({"num_layers": 2, "bidirectional": True, "batch_first": True}, True),
    "2layer-nobias-h0": ({"num_layers": 2, "bias": False}, True),
}


@pytest.mark.parametrize("name,mkw", MODES)
@pytest.mark.parametrize("cfg", list(CONFIGS))
def test_recurrent_vs_torch(name, mkw, cfg, rng, device):
    cfg, with_state = CONFIGS[cfg]
    t_mod, g_mod = twin(name, IN, H, device=device, **mkw, **cfg)
    shape = (B, T, IN) if cfg.get("batch_first") else (T, B, IN)
    arrays = [rng.standard_normal(shape).astype(np.float32)]
    if with_state:
        n = cfg.get("num_layers", 1) * (2 if cfg.get("bidirectional") else 1)
        arrays += [rng.standard_normal((n, B, H)).astype(np.float32)
                   for _ in range(2 if name == "LSTM" else 1)]
    run_both(t_mod, g_mod, arrays, device)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_unbatched_input(name, rng, device):
    t_mod, g_mod = twin(name, IN, H, bidirectional=True, device=device)
    arrays = [rng.standard_normal((T, IN)).astype(np.float32)]
    arrays += [rng.standard_normal((2, H)).astype(np.float32) for _ in range(2 if name == "LSTM" else 1)]
    run_both(t_mod, g_mod, arrays, device)


@pytest.mark.parametrize("name,mkw", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
                                      ("LSTMCell", {}), ("GRUCell", {}), ("GRUCell", {"bias": False})])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_vs_torch(name, mkw, batched, rng, device):
    t_mod, g_mod = twin(name, IN, H, device=device, **mkw)
    lead = (B,) if batched else ()
    arrays = [rng.standard_normal(lead + (IN,)).astype(np.float32)]
    arrays += [rng.standard_normal(lead + (H,)).astype(np.float32)
               for _ in range(2 if name == "LSTMCell" else 1)]
    run_both(t_mod, g_mod, arrays, device)
    out = g_mod(to_gt(arrays[0], device))  # default zero state
    t_out = t_mod(torch.from_numpy(arrays[0]))
    for go, to in zip(as_list(out), as_list(t_out)):
        np.testing.assert_allclose(to_np(go), to.detach().numpy(), atol=2e-5)


@pytest.mark.parametrize("name,kw", [("LSTM", {"num_layers": 2}), ("GRU", {"bidirectional": True}),
                                     ("RNN", {})])
def test_gradcheck(name, kw, rng, device):
    mod = getattr(gt.nn, name)(2, 2, **kw).double().to(device)
    n = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)

    def fn(x, h):
        return mod(x, (h, h * 0.5) if name == "LSTM" else h)[0]
    check_grad(fn, rng.standard_normal((2, 1, 2)), rng.standard_normal((n, 1, 2)), device=device)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_parameter_names_shapes_and_init(name):
    kw = {"num_layers": 2, "bidirectional": True}
    t_mod, g_mod = torch.nn.__dict__[name](5, 4, **kw), getattr(gt.nn, name)(5, 4, **kw)
    assert [(n, tuple(p.shape)) for n, p in g_mod.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t_mod.named_parameters()]
    bound = 1 / np.sqrt(4)
    for p in g_mod.parameters():
        a = to_np(p)
        assert np.abs(a).max() <= bound and a.std() > bound / 4
    assert len(g_mod.all_weights) == 4 and len(g_mod.all_weights[0]) == 4


def test_dropout_between_layers(rng):
    lstm = gt.nn.LSTM(IN, H, num_layers=2, dropout=0.5)
    x = gt.tensor(rng.standard_normal((T, B, IN)).astype(np.float32))
    train_out = lstm(x)[0]
    lstm.eval()
    eval_a, eval_b = lstm(x)[0], lstm(x)[0]
    np.testing.assert_array_equal(to_np(eval_a), to_np(eval_b))
    assert not np.allclose(to_np(train_out), to_np(eval_a))
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        gt.nn.GRU(IN, H, dropout=0.2)


def test_recurrent_errors(device):
    lstm = gt.nn.LSTM(IN, H, num_layers=2).to(device)
    x = gt.zeros((T, B, IN), device=device)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size"):
        lstm(gt.zeros((T, B, IN + 1), device=device))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(2, 2, 3\), got \[1, 2, 3\]"):
        lstm(x, (gt.zeros((1, B, H), device=device), gt.zeros((2, B, H), device=device)))
    with pytest.raises(TypeError, match="tuple"):
        lstm(x, gt.zeros((2, B, H), device=device))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D"):
        lstm(gt.zeros((1, T, B, IN), device=device))
    with pytest.raises(RuntimeError, match="should also be 2-D"):
        gt.nn.GRU(IN, H).to(device)(gt.zeros((T, IN), device=device), gt.zeros((1, 1, H), device=device))
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        gt.nn.RNN(IN, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        gt.nn.GRU(IN, 0)
    with pytest.raises(RuntimeError, match="parameters are gputensor.float32 on cpu"):
        gt.nn.GRU(IN, H)(gt.zeros((T, B, IN), dtype=gt.float64))
    with pytest.raises(RuntimeError, match="inconsistent input_size"):
        gt.nn.LSTMCell(IN, H)(gt.zeros((B, IN + 2)))
