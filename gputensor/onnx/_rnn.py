"""nn.LSTM / nn.GRU / nn.RNN as ONNX LSTM / GRU / RNN nodes, one per layer.

The modules are captured whole while tracing (their forward otherwise runs one small op per
time step). ONNX keeps gates in another order than torch (LSTM i,o,f,c for torch's i,f,g,o;
GRU z,r,h for r,z,n), stacks directions in W [dirs, gates*H, in], R and B [dirs, 2*gates*H],
applies GRU's reset gate after the recurrent matmul only with ``linear_before_reset=1`` (torch's
formula), and returns Y as [seq, dirs, batch, H]: layers are chained through a
Transpose+Reshape to [seq, batch, dirs*H]. An explicit h0/c0 is sliced per layer into
initial_h/initial_c; an all-zero constant one is left out (ONNX's default is zeros).
"""
from __future__ import annotations

import numpy as np

from ..nn.modules import rnn as _rnn_mod
from ._graph import converter, to_numpy
from ._trace import CAPTURED_MODULES
from .errors import OnnxExporterError

_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN_TANH": (0,), "RNN_RELU": (0,)}
_OP = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN", "RNN_RELU": "RNN"}


def _gates(w: np.ndarray, mode: str, hidden: int) -> np.ndarray:
    return np.concatenate([w[i * hidden:(i + 1) * hidden] for i in _ORDER[mode]], axis=0)


def _zero_constant(g, t) -> bool:
    return not g.is_graph_value(t) and g._params.get(id(t)) is None and \
        not np.any(to_numpy(t))


def _state(g, t, alt, layer: int, dirs: int) -> str:
    """Layer ``layer``'s slice of an initial state, or '' for none / all zeros."""
    if t is None or _zero_constant(g, t):
        return ""
    v = g.value(t, alt)
    return g.node("Slice", [v, g.ints([layer * dirs]), g.ints([(layer + 1) * dirs]),
                            g.ints([0])])


def _convert(g, rec):
    m = rec.op
    p = rec.params()
    pa = rec.alt.params() if rec.alt is not None else None
    x_t, hx = p["input"], p["hx"]
    if not hasattr(x_t, "ndim") or x_t.ndim != 3:
        raise OnnxExporterError(f"{type(m).__name__}: only batched 3-D tensor input is supported "
                                f"by gputensor.onnx (no PackedSequence or unbatched input)")
    mode, hidden = m.mode, m.hidden_size
    dirs = 2 if m.bidirectional else 1
    is_lstm = mode == "LSTM"
    h0 = c0 = h0b = c0b = None
    if hx is not None:
        h0, c0 = (hx[0], hx[1]) if is_lstm else (hx, None)
        if pa is not None:
            h0b, c0b = (pa["hx"][0], pa["hx"][1]) if is_lstm else (pa["hx"], None)
    x = g.value(x_t, pa["input"] if pa else None)
    if m.batch_first:
        x = g.node("Transpose", [x], perm=[1, 0, 2])
    hs, cs = [], []
    for layer in range(m.num_layers):
        ws = [m._weights(layer, d) for d in range(dirs)]
        W = np.stack([_gates(to_numpy(w[0]), mode, hidden) for w in ws])
        R = np.stack([_gates(to_numpy(w[1]), mode, hidden) for w in ws])
        if m.bias:
            B = np.stack([np.concatenate([_gates(to_numpy(w[2]), mode, hidden),
                                          _gates(to_numpy(w[3]), mode, hidden)]) for w in ws])
        else:
            B = np.zeros((dirs, 2 * W.shape[1]), W.dtype)
        ins = [x, g.const(W, f"{mode}_W"), g.const(R, f"{mode}_R"), g.const(B, f"{mode}_B"), "",
               _state(g, h0, h0b, layer, dirs)]
        if is_lstm:
            ins.append(_state(g, c0, c0b, layer, dirs))
        while ins and ins[-1] == "":
            ins.pop()
        attrs = {"hidden_size": hidden, "direction": "bidirectional" if dirs == 2 else "forward"}
        if mode == "GRU":
            attrs["linear_before_reset"] = 1
        if mode in ("RNN_TANH", "RNN_RELU"):
            attrs["activations"] = ["Tanh" if mode == "RNN_TANH" else "Relu"] * dirs
        outs = g.node(_OP[mode], ins, n_out=3 if is_lstm else 2, **attrs)
        y, hs_l = outs[0], outs[1]
        hs.append(hs_l)
        if is_lstm:
            cs.append(outs[2])
        y = g.node("Transpose", [y], perm=[0, 2, 1, 3])
        x = g.node("Reshape", [y, g.ints([0, 0, -1])])
    out = g.node("Transpose", [x], perm=[1, 0, 2]) if m.batch_first else x
    h_n = g.node("Concat", hs, axis=0) if len(hs) > 1 else hs[0]
    if is_lstm:
        c_n = g.node("Concat", cs, axis=0) if len(cs) > 1 else cs[0]
        return [out, h_n, c_n]
    return [out, h_n]


for _cls in (_rnn_mod.LSTM, _rnn_mod.GRU, _rnn_mod.RNN):
    CAPTURED_MODULES[_cls] = _convert
    converter(_cls)(_convert)
