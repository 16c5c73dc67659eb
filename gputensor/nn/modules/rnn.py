"""RNN, LSTM, GRU and their cells, with torch's parameter names, shapes, gate order and init.

Each layer/direction is one fused Function (``ops.rnn_fused``): one GEMM projects the whole
input sequence, each step runs the hidden GEMM and one kernel for the gate math, and backward
through time is hand-written the same way. PackedSequence inputs (rows stop at different steps)
run the op-by-op path (``ops.rnn_reference``). Gates follow torch: LSTM (i, f, g, o), GRU
(r, z, n) with n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
"""
from __future__ import annotations

import math
import warnings

from ... import _dtype as dt
from ...ops.creation import empty, zeros
from ...ops.join_split import cat, stack
from ...ops.rnn_fused import fused_layer
from ...ops.rnn_reference import project as _project
from ...ops.rnn_reference import reference_step as _step
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _check_args(input_size: int, hidden_size: int, num_layers: int, dropout: float) -> None:
    for name, v in (("input_size", input_size), ("hidden_size", hidden_size),
                    ("num_layers", num_layers)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"{name} should be of type int, got: {type(v).__name__}")
        if v <= 0 and name != "input_size":
            raise ValueError(f"{name} must be greater than zero, got {v}")
    if isinstance(dropout, bool) or not 0 <= dropout <= 1:
        raise ValueError("dropout should be a number in range [0, 1] representing the "
                         f"probability of an element being zeroed, got {dropout}")


def _mode_of(nonlinearity: str) -> str:
    if nonlinearity == "tanh":
        return "RNN_TANH"
    if nonlinearity == "relu":
        return "RNN_RELU"
    raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")


def _new_param(shape: tuple, device, dtype) -> Parameter:
    return Parameter(empty(shape, device=device, dtype=dtype or dt.get_default_dtype()))


def _reset(module: Module, hidden_size: int) -> None:
    """torch's init: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))."""
    stdv = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for p in module.parameters():
        init.uniform_(p, -stdv, stdv)


class RNNBase(Module):
    """Multi-layer, optionally bidirectional recurrence shared by RNN, LSTM and GRU."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        _check_args(input_size, hidden_size, num_layers, dropout)
        if proj_size:
            raise NotImplementedError("LSTM with proj_size > 0 is not supported by gputensor")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, 0
        gates = _GATES[mode] * hidden_size
        dirs = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else hidden_size * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [("weight_ih", (gates, in_size)), ("weight_hh", (gates, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gates,)), ("bias_hh", (gates,))]
                for name, shape in shapes:
                    setattr(self, name + sfx, _new_param(shape, device, dtype))
                    self._flat_weights_names.append(name + sfx)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """No-op: kept for code written against cuDNN's packed weights."""

    @property
    def all_weights(self) -> list:
        per = 4 if self.bias else 2
        ws = [getattr(self, n) for n in self._flat_weights_names]
        return [ws[i:i + per] for i in range(0, len(ws), per)]

    def _weights(self, layer: int, d: int) -> tuple:
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        get = self._parameters.get
        return (get("weight_ih" + sfx), get("weight_hh" + sfx), get("bias_ih" + sfx),
                get("bias_hh" + sfx))

    def _state_shape(self, batch: int) -> tuple:
        return ((2 if self.bidirectional else 1) * self.num_layers, batch, self.hidden_size)

    def _check_state(self, h: Tensor, expected: tuple, batched: bool, what: str) -> Tensor:
        if not isinstance(h, Tensor):
            raise TypeError(f"{type(self).__name__}: {what} must be a Tensor, got "
                            f"{type(h).__name__}")
        if batched != (h.ndim == 3):
            raise RuntimeError(f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, "
                               f"{what} should also be {3 if batched else 2}-D but got "
                               f"{h.ndim}-D tensor")
        h = h if batched else h.unsqueeze(1)
        if tuple(h.shape) != expected:
            raise RuntimeError(f"Expected {what} size {expected}, got {list(h.shape)}")
        return h

    def _initial(self, hx, x: Tensor, batched: bool) -> tuple:
        """(h0, c0) as (layers*dirs, B, H) tensors (None, None for zero states); c0 is None
        except for LSTM."""
        expected = self._state_shape(x.shape[1])
        is_lstm = self.mode == "LSTM"
        if hx is None:
            return None, None
        if is_lstm:
            if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise TypeError("LSTM expects hx as a tuple (h_0, c_0) of Tensors")
            return (self._check_state(hx[0], expected, batched, "hidden"),
                    self._check_state(hx[1], expected, batched, "cell"))
        return self._check_state(hx, expected, batched, "hidden"), None

    def forward(self, input: Tensor, hx=None):
        name = type(self).__name__
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D input "
                             f"instead (shape {tuple(input.shape)})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")
        w0 = self.weight_ih_l0
        if input.dtype != w0.dtype or input.device != w0.device:
            raise RuntimeError(f"{name}: input is {input.dtype} on {input.device} but the "
                               f"parameters are {w0.dtype} on {w0.device}")
        batched = input.ndim == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        h0, c0 = self._initial(hx, x, batched)
        out, h_n, c_n = self._run(x, h0, c0)
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        if not batched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        return (out, (h_n, c_n)) if self.mode == "LSTM" else (out, h_n)

    def _forward_packed(self, packed: PackedSequence, hx):
        """A PackedSequence in, one out: steps run on the sorted batch, updating at step t only
        the ``batch_sizes[t]`` sequences still running; states come back in the caller's order."""
        data, sizes = packed.data, [int(b) for b in packed.batch_sizes.tolist()]
        if data.ndim != 2 or data.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {data.shape[-1]}")
        B, steps, off = sizes[0], [], 0
        for b in sizes:
            step = data[off:off + b]
            off += b
            steps.append(step if b == B else cat([step, zeros((B - b, data.shape[1]),
                                                              dtype=data.dtype,
                                                              device=data.device)], 0))
        x = stack(steps)
        order, undo = packed.sorted_indices, packed.unsorted_indices
        if hx is not None and order is not None:
            hx = (tuple(h.index_select(1, order) for h in hx) if self.mode == "LSTM"
                  else hx.index_select(1, order))
        h0, c0 = self._initial(hx, x, True)
        out, h_n, c_n = self._run(x, h0, c0, sizes)
        out = PackedSequence(cat([out[t, :b] for t, b in enumerate(sizes)], 0),
                             packed.batch_sizes, order, undo)
        if undo is not None:
            h_n = h_n.index_select(1, undo)
            c_n = c_n.index_select(1, undo) if c_n is not None else None
        return (out, (h_n, c_n)) if self.mode == "LSTM" else (out, h_n)

    def _run(self, x: Tensor, h0: Tensor | None, c0: Tensor | None,
             sizes: list | None = None) -> tuple:
        """Time-major (T, B, in) sequence through every layer; returns (out, h_n, c_n).
        ``h0``/``c0`` None: zero states. ``sizes`` (packed input, batch sorted by decreasing
        length): at step t only the first sizes[t] rows advance, the others keep their state."""
        dirs = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        hs, cs = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                h, c = (None if h0 is None else h0[k]), (None if c0 is None else c0[k])
                if sizes is None and x.shape[0] > 0:
                    y, h, c = fused_layer(self.mode, bool(d), x, h, c, *self._weights(layer, d))
                else:
                    y, h, c = self._run_packed(x, h, c, layer, d, sizes)
                outs.append(y)
                hs.append(h)
                cs.append(c)
            x = cat(outs, 2) if dirs == 2 else outs[0]
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        return x, stack(hs), (stack(cs) if lstm else None)

    def _run_packed(self, x: Tensor, h: Tensor | None, c: Tensor | None, layer: int, d: int,
                    sizes: list | None) -> tuple:
        """One layer/direction op by op; ``sizes[t]`` rows advance at step t (all if None)."""
        w_ih, w_hh, b_ih, b_hh = self._weights(layer, d)
        T, B = x.shape[0], x.shape[1]
        if h is None:
            h = zeros((B, self.hidden_size), dtype=x.dtype, device=x.device)
        if c is None and self.mode == "LSTM":
            c = zeros((B, self.hidden_size), dtype=x.dtype, device=x.device)
        gi = _project(x, w_ih, b_ih)
        ys = [None] * T
        for t in (range(T - 1, -1, -1) if d else range(T)):
            b = B if sizes is None else sizes[t]
            if b == B:
                h, c = _step(self.mode, gi[t], h, c, w_hh, b_hh)
            else:
                hb, cb = _step(self.mode, gi[t, :b], h[:b], None if c is None else c[:b],
                               w_hh, b_hh)
                h = cat([hb, h[b:]], 0)
                c = None if c is None else cat([cb, c[b:]], 0)
            ys[t] = h
        out = stack(ys) if T else zeros((0, B, self.hidden_size), dtype=x.dtype,
                                        device=x.device)
        return out, h, c

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        for name, default in (("num_layers", 1), ("bias", True), ("batch_first", False),
                              ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s


class RNN(RNNBase):
    """Elman RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__(_mode_of(nonlinearity), input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


class RNNCellBase(Module):
    """One step of a recurrence: ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        _check_args(input_size, hidden_size, 1, 0.0)
        self.mode, self.input_size, self.hidden_size, self.bias = mode, input_size, hidden_size, bias
        gates = _GATES[mode] * hidden_size
        self.weight_ih = _new_param((gates, input_size), device, dtype)
        self.weight_hh = _new_param((gates, hidden_size), device, dtype)
        for name in ("bias_ih", "bias_hh"):
            self.register_parameter(name, _new_param((gates,), device, dtype) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset(self, self.hidden_size)

    def _state(self, hx, x: Tensor, batched: bool, what: str) -> Tensor:
        if hx is None:
            return None  # zero state
        if hx.ndim != (2 if batched else 1):
            raise RuntimeError(f"{type(self).__name__}: Expected {what} to be "
                               f"{2 if batched else 1}D, got {hx.ndim}D instead")
        hx = hx if batched else hx.unsqueeze(0)
        if tuple(hx.shape) != (x.shape[0], self.hidden_size):
            raise RuntimeError(f"{type(self).__name__}: Expected {what} of shape "
                               f"{(x.shape[0], self.hidden_size)}, got {tuple(hx.shape)}")
        return hx

    def forward(self, input: Tensor, hx=None):
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got "
                               f"{input.shape[-1]} expected {self.input_size}")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        if self.mode == "LSTM":
            h, c = (None, None) if hx is None else hx
            h, c = self._state(h, x, batched, "hx[0]"), self._state(c, x, batched, "hx[1]")
        else:
            h, c = self._state(hx, x, batched, "hx"), None
        _, h, c = fused_layer(self.mode, False, x.unsqueeze(0), h, c, self.weight_ih,
                              self.weight_hh, self.bias_ih, self.bias_hh)
        if not batched:
            h, c = h.squeeze(0), (c.squeeze(0) if c is not None else None)
        return (h, c) if self.mode == "LSTM" else h

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        return s


class RNNCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(_mode_of(nonlinearity), input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity


class LSTMCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)


class GRUCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)


__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]

from ._alias import getattr_for as _getattr_for  # noqa: E402
__getattr__ = _getattr_for(__name__)  # torch names defined in other files (MultiheadAttention)
