"""gputensor.onnx.export: models exported with a dynamic batch run in onnxruntime and match
gputensor's own outputs at the traced batch size (2) and at another (5)."""
import io

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import gputensor as gt
import gputensor.nn as nn
import gputensor.nn.functional as F
import gputensor.onnx as gonnx
from gputensor.autograd import function as _function
from gputensor.onnx.errors import OnnxExporterError, UnsupportedOperatorError

RTOL, ATOL = 1e-4, 1e-5


def _export(model, args, in_names, out_names=("output",), dynamic=True, **kw) -> onnx.ModelProto:
    f = io.BytesIO()
    axes = {n: {0: "batch"} for n in list(in_names) + list(out_names)} if dynamic else None
    gonnx.export(model, args, f, input_names=list(in_names), output_names=list(out_names),
                 dynamic_axes=axes, **kw)
    proto = onnx.load_from_string(f.getvalue())
    onnx.checker.check_model(proto)
    return proto


def _outputs(out) -> list:
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _outputs(o)]
    return [out]


def _check(model, make_inputs, in_names, n_out: int = 1) -> onnx.ModelProto:
    """Export at batch 2 with a dynamic batch, then compare onnxruntime with gputensor at 2, 5."""
    model.eval()
    out_names = ["output"] + [f"out{i}" for i in range(1, n_out)]
    proto = _export(model, make_inputs(2), in_names, out_names)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for batch in (2, 5):
        inputs = make_inputs(batch)
        with gt.no_grad():
            want = _outputs(model(*inputs))[:n_out]
        got = sess.run(None, {n: t.numpy() for n, t in zip(in_names, inputs)})
        assert len(got) == n_out
        for g, w in zip(got, want):
            assert g.shape == tuple(w.shape), (batch, g.shape, tuple(w.shape))
            np.testing.assert_allclose(g, w.numpy(), rtol=RTOL, atol=ATOL)
    return proto


def _op_types(proto) -> list:
    return [n.op_type for n in proto.graph.node if n.op_type != "Constant"]


# -- models ---------------------------------------------------------------------------------------

class ReferenceCNN(nn.Module):
    def __init__(self, flatten_with_size: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 6 * 6, 128)
        self.fc2 = nn.Linear(128, 10)
        self.flatten_with_size = flatten_with_size

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(x.size(0), -1) if self.flatten_with_size else x.view(-1, 64 * 6 * 6)
        return self.fc2(F.relu(self.fc1(x)))


class LSTMClassifier(nn.Module):
    def __init__(self, n_in=100, hidden=256, layers=2, classes=10):
        super().__init__()
        self.hidden, self.layers = hidden, layers
        self.lstm = nn.LSTM(n_in, hidden, layers, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):
        h0 = gt.zeros(self.layers, x.size(0), self.hidden)
        c0 = gt.zeros(self.layers, x.size(0), self.hidden)
        out, _ = self.lstm(x, (h0, c0))
        return self.fc(out[:, -1, :])


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 12),
            nn.LayerNorm(12), nn.GELU(), nn.ELU(), nn.LeakyReLU(0.1), nn.SiLU(), nn.Softplus(),
            nn.Tanh(), nn.Linear(12, 5))
        with gt.no_grad():
            self.net[1].running_mean.copy_(gt.randn(16))
            self.net[1].running_var.copy_(gt.rand(16) + 0.5)

    def forward(self, x):
        y = self.net(x)
        z = gt.sigmoid(y) * 2 - y.abs().sqrt() + gt.exp(-y) / 3 + gt.log(y.abs() + 1) ** 2
        z = z.unsqueeze(1).squeeze(1) - y.pow(3).neg() * 0.01
        return F.log_softmax(z, -1) + F.softmax(z, dim=1).mean(-1, keepdim=True) + \
            z.sum(1, keepdim=True)


class GRUModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 6, 2, batch_first=True, bidirectional=True)
        self.rnn = nn.RNN(12, 5, nonlinearity="relu")
        self.fc = nn.Linear(5, 3)

    def forward(self, x):
        out, h = self.gru(x)
        o2, _ = self.rnn(out.transpose(0, 1))
        return self.fc(o2[-1]) + h.sum(0).sum(-1, keepdim=True)


class LSTMWithState(nn.Module):
    """Explicit (h0, c0) graph inputs: batch is their dim 1."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 4, 2, bidirectional=True)

    def forward(self, x, h0, c0):
        out, (h, c) = self.lstm(x, (h0, c0))
        return out, h, c


class Encoder(nn.Module):
    def __init__(self, with_mask: bool):
        super().__init__()
        layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.1, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2)
        self.with_mask = with_mask

    def forward(self, x, pad=None):
        if not self.with_mask:
            return self.enc(x)
        causal = nn.Transformer.generate_square_subsequent_mask(x.size(1))
        return self.enc(x, mask=causal, src_key_padding_mask=pad)


class ConvEmbed(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 8)
        self.c1 = nn.Conv1d(8, 8, 3, padding=2, dilation=2, groups=2)
        self.ct = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)
        self.c2 = nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.ap = nn.AvgPool2d(2)
        self.fc = nn.Linear(8 + 4 + 4, 3)

    def forward(self, idx, img):
        e = self.c1(self.emb(idx).permute(0, 2, 1)).mean(-1)
        c = self.c2(self.ct(img))
        a = gt.flatten(self.pool(c), 1)
        b = self.ap(c).amax((2, 3))
        return self.fc(gt.cat([e, a, b], dim=1))


# -- tests ----------------------------------------------------------------------------------------

def test_reference_cnn_matches_torch_ops():
    proto = _check(ReferenceCNN(), lambda n: (gt.randn(n, 3, 24, 24),), ["input"])
    assert _op_types(proto) == ["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Reshape",
                                "Gemm", "Relu", "Gemm"]  # as torch.onnx.export (dynamo=False)
    assert {"conv1.weight", "fc2.bias"} <= {i.name for i in proto.graph.initializer}
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [3, 24, 24]


def test_view_with_traced_size_follows_batch():
    _check(ReferenceCNN(flatten_with_size=True), lambda n: (gt.randn(n, 3, 24, 24),), ["input"])


def test_lstm_classifier():
    proto = _check(LSTMClassifier(), lambda n: (gt.randn(n, 9, 100),), ["input"])
    assert _op_types(proto).count("LSTM") == 2


def test_lstm_explicit_state_bidirectional():
    model = LSTMWithState().eval()

    def inputs(n):
        return gt.randn(5, n, 3), gt.randn(4, n, 4), gt.randn(4, n, 4)
    f = io.BytesIO()
    axes = {"x": {1: "batch"}, "h0": {1: "batch"}, "c0": {1: "batch"}, "out": {1: "batch"},
            "h": {1: "batch"}, "c": {1: "batch"}}
    gonnx.export(model, inputs(2), f, input_names=["x", "h0", "c0"],
                 output_names=["out", "h", "c"], dynamic_axes=axes)
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    for n in (2, 5):
        ins = inputs(n)
        got = sess.run(None, dict(zip(["x", "h0", "c0"], [t.numpy() for t in ins])))
        with gt.no_grad():
            want = _outputs(model(*ins))
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w.numpy(), rtol=RTOL, atol=ATOL)


def test_mlp_batchnorm_dropout_activations():
    proto = _check(MLP(), lambda n: (gt.randn(n, 6),), ["input"])
    ops = _op_types(proto)
    for op in ("BatchNormalization", "LayerNormalization", "Elu", "LeakyRelu", "Softplus",
               "LogSoftmax", "Softmax"):
        assert op in ops
    assert "Dropout" not in ops


def test_gru_and_rnn():
    proto = _check(GRUModel(), lambda n: (gt.randn(n, 7, 4),), ["input"])
    ops = _op_types(proto)
    assert ops.count("GRU") == 2 and ops.count("RNN") == 1
    gru = next(n for n in proto.graph.node if n.op_type == "GRU")
    assert {a.name: a for a in gru.attribute}["linear_before_reset"].i == 1


def test_transformer_encoder():
    _check(Encoder(with_mask=False), lambda n: (gt.randn(n, 5, 16),), ["input"])


def test_transformer_encoder_padding_mask():
    def inputs(n):
        pad = gt.zeros(n, 5, dtype=gt.bool)
        pad[1, 3:] = True
        return gt.randn(n, 5, 16), pad
    _check(Encoder(with_mask=True), inputs, ["input", "pad"])


def test_conv_transpose_embedding():
    _check(ConvEmbed(), lambda n: (gt.randint(0, 10, (n, 6)), gt.randn(n, 3, 5, 5)),
           ["idx", "img"])


def test_comparison_masks_are_traced():
    class Masked(nn.Module):
        def forward(self, x):
            return x * (x > 0).float() + ((x != 1) & ~(x > 2)).float() + x.masked_fill(
                x < -0.5, 0.0)
    proto = _check(Masked(), lambda n: (gt.randn(n, 3),), ["input"])
    assert {"Greater", "Less", "Where"} <= set(_op_types(proto))


def test_static_export_to_path(tmp_path):
    model = ReferenceCNN().train()
    path = tmp_path / "cnn.onnx"
    gonnx.export(model, gt.randn(2, 3, 24, 24), str(path))
    assert model.training  # the mode is restored after the eval-mode trace
    proto = onnx.load(str(path))
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == \
        [2, 3, 24, 24]
    assert proto.opset_import[0].version == 17


def test_unsupported_operator_names_it():
    class Cum(nn.Module):
        def forward(self, x):
            return gt.cumsum(x, 1)
    with pytest.raises(UnsupportedOperatorError, match="cumsum"):
        gonnx.export(Cum(), (gt.randn(2, 3),), io.BytesIO())
    assert issubclass(UnsupportedOperatorError, OnnxExporterError)
    assert _function._tracer is None  # the tracer is removed even when export fails


def test_value_computed_outside_traced_ops_is_refused():
    class Leak(nn.Module):
        def forward(self, x):
            return x + gt.tensor(x.numpy() * 2)  # through NumPy: no op records it
    with pytest.raises(OnnxExporterError, match="outside the traced ops"):
        gonnx.export(Leak(), (gt.randn(2, 3),), io.BytesIO())


def test_top_level_attribute_and_kwargs_dict():
    import gputensor as torch

    class Add(nn.Module):
        def forward(self, x, y=None):
            return x + y
    f = io.BytesIO()
    torch.onnx.export(Add(), (gt.randn(2, 3), {"y": gt.randn(2, 3)}), f,
                      input_names=["x", "y"])
    proto = onnx.load_from_string(f.getvalue())
    assert [i.name for i in proto.graph.input] == ["x", "y"]
    assert torch.onnx.errors.UnsupportedOperatorError is UnsupportedOperatorError


def test_inplace_ops():
    class InPlace(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Sequential(nn.Linear(3, 4), nn.ReLU(inplace=True))

        def forward(self, x):
            y = self.fc(x)
            y += 1
            y.mul_(3)
            y.masked_fill_(y[:, :1] > 3.5, 0.5)
            return y
    proto = _check(InPlace(), lambda n: (gt.randn(n, 3),), ["input"])
    assert "Relu" in _op_types(proto)


def test_export_params_false_makes_parameters_inputs():
    proto = _export(nn.Linear(3, 2), (gt.randn(2, 3),), ["x"], dynamic=False,
                    export_params=False)
    assert not proto.graph.initializer
    assert [i.name for i in proto.graph.input] == ["x", "weight", "bias"]


def _torch_ops(model, x) -> list:
    import warnings

    import torch
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
        torch.onnx.export(model.eval(), (x,), f, dynamo=False, input_names=["input"],
                          output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    return [n.op_type for n in onnx.load_from_string(f.getvalue()).graph.node
            if n.op_type not in ("Constant", "Identity")]


_SEQUENTIALS = {
    "mlp": (lambda nn_: nn_.Sequential(
        nn_.Linear(6, 16), nn_.BatchNorm1d(16), nn_.ReLU(), nn_.Dropout(0.3), nn_.Linear(16, 12),
        nn_.LayerNorm(12), nn_.ELU(), nn_.LeakyReLU(0.1), nn_.Softplus(), nn_.Tanh(),
        nn_.Sigmoid(), nn_.LogSoftmax(-1)), (2, 6)),
    "conv1d": (lambda nn_: nn_.Sequential(
        nn_.Conv1d(4, 4, 3, groups=2), nn_.ReLU(), nn_.ConvTranspose1d(4, 2, 3, stride=2),
        nn_.Flatten()), (2, 4, 7)),
    "convT2d": (lambda nn_: nn_.Sequential(
        nn_.ConvTranspose2d(3, 4, 3, stride=2), nn_.AdaptiveAvgPool2d(1), nn_.Flatten()),
        (2, 3, 5, 5)),
}


@pytest.mark.parametrize("name", sorted(_SEQUENTIALS))
def test_node_types_match_torch_onnx_export(name):
    import torch
    build, shape = _SEQUENTIALS[name]
    mine = _check(build(nn), lambda n: (gt.randn(n, *shape[1:]),), ["input"])
    assert _op_types(mine) == _torch_ops(build(torch.nn), torch.randn(*shape))


def test_export_on_simulated_cuda(device):
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(27, 2))
    model = model.eval().to(device)
    x = gt.randn(3, 2, 5, 5, device=device)
    proto = _export(model, (x,), ["input"])
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    with gt.no_grad():
        want = model(x).cpu().numpy()
    np.testing.assert_allclose(sess.run(None, {"input": x.cpu().numpy()})[0], want,
                               rtol=RTOL, atol=ATOL)


class _Branchy(nn.Module):
    def forward(self, x):
        y = x * 2 if float(x[0, 0]) > 0 else x - 1
        return y, y  # the same tensor twice: the second output is an Identity of the first


def test_value_dependent_branch_warns_when_static_and_raises_when_dynamic():
    x = gt.tensor([[1.0, -1.0, -1.0], [-1.0, -1.0, -2.0]])
    f = io.BytesIO()
    with pytest.warns(UserWarning, match="different ops"):
        gonnx.export(_Branchy(), (x,), f, output_names=["a", "b"])
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    a, b = sess.run(None, {"input.1": x.numpy()})
    np.testing.assert_array_equal(a, x.numpy() * 2)
    np.testing.assert_array_equal(b, a)
    with pytest.raises(OnnxExporterError, match="different ops"):
        gonnx.export(_Branchy(), (x,), io.BytesIO(), input_names=["x"],
                     dynamic_axes={"x": {0: "batch"}})


class _Tokens(nn.Module):
    """ViT-style tokens: a class token expanded to the batch, positions sliced to the length."""

    def __init__(self):
        super().__init__()
        self.cls = nn.Parameter(gt.randn(1, 1, 8))
        self.pos = nn.Parameter(gt.randn(1, 12, 8))
        self.proj = nn.Linear(4, 8)

    def forward(self, x):
        t = gt.cat([self.cls.expand(x.size(0), -1, -1), self.proj(x)], 1)
        t = t + self.pos[:, :x.size(1) + 1]
        return t + gt.ones(x.size(0), 1, 8) * 0.5


def test_sizes_following_batch_and_length():
    model = _Tokens().eval()
    f = io.BytesIO()
    axes = {"x": {0: "batch", 1: "seq"}, "output": {0: "batch", 1: "seq_plus_1"}}
    gonnx.export(model, (gt.randn(2, 5, 4),), f, input_names=["x"], output_names=["output"],
                 dynamic_axes=axes)
    proto = onnx.load_from_string(f.getvalue())
    assert {"Expand", "ConstantOfShape", "Slice"} <= set(_op_types(proto))
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    for n, length in ((2, 5), (5, 3), (1, 11)):
        x = gt.randn(n, length, 4)
        with gt.no_grad():
            want = model(x).numpy()
        np.testing.assert_allclose(sess.run(None, {"x": x.numpy()})[0], want, rtol=RTOL,
                                   atol=ATOL)


class _MoreOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.prelu = nn.PReLU(3)
        self.pos = nn.Embedding(20, 4)
        with gt.no_grad():
            self.prelu.weight.copy_(gt.tensor([0.1, 0.2, 0.3]))

    def forward(self, x):  # (N, 3, 4)
        y = F.pad(x, (1, 2, 0, 1), value=0.5).sum(-1, keepdim=True)[:, :3]
        y = y + F.pad(x, (1, 1), mode="reflect").mean(-1, keepdim=True)
        y = y + F.pad(x, (2, 0), mode="replicate").amax(-1, keepdim=True)
        y = y + F.hardswish(x) + F.hardsigmoid(x) + F.relu6(x * 4) + F.selu(x) + \
            F.celu(x, 0.5) + F.threshold(x, 0.1, -2.0) + self.prelu(x) + F.mish(x)
        y = y + gt.maximum(x, x * 0.3) + gt.minimum(x, -x) + F.normalize(x, dim=-1) + \
            x.norm(dim=1, keepdim=True) + x.var(-1, keepdim=True)
        return y + self.pos(gt.arange(x.size(1))) + gt.arange(x.size(2)).float() * 0.1


def test_padding_activations_norms_and_positions():
    proto = _check(_MoreOps(), lambda n: (gt.randn(n, 3, 4),), ["input"])
    for op in ("Pad", "HardSwish", "PRelu", "Selu", "Celu", "Max", "Min", "ReduceL2"):
        assert op in _op_types(proto)
