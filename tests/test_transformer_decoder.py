"""TransformerDecoderLayer / TransformerDecoder / Transformer against torch: torch's weights are
copied in through NumPy, then outputs and gradients (inputs and every parameter) must agree in
eval mode, with bool/float attention masks, key padding masks, batch_first and norm_first."""
import inspect
import warnings

import numpy as np
import pytest
import torch

import gputensor as gt
from gputensor import nn

E, H, FF = 6, 2, 10
L, S, N = 4, 5, 3


def _copy(gmod, tmod):
    sd = {k: gt.tensor(v.detach().numpy()) for k, v in tmod.state_dict().items()}
    assert list(gmod.state_dict()) == list(sd)
    gmod.load_state_dict(sd)
    return gmod


def _pair(name, *args, dtype=torch.float64, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's nested-tensor notice
        t = getattr(torch.nn, name)(*args, **kw).to(dtype).eval()
    g = getattr(nn, name)(*args, **kw)
    g = (g.double() if dtype == torch.float64 else g).eval()
    return _copy(g, t), t


def _to_gt(v, device="cpu"):
    return None if v is None else gt.tensor(v.detach().numpy(), device=device,
                                            requires_grad=v.requires_grad)


def _compare(gmod, tmod, inputs: dict, rtol=1e-9, atol=1e-10, device="cpu"):
    """Run both with ``inputs`` (torch tensors), backprop a fixed random cotangent, compare."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tout = tmod(**inputs)
    gin = {k: (_to_gt(v, device) if isinstance(v, torch.Tensor) else v)
           for k, v in inputs.items()}
    gout = gmod(**gin)
    np.testing.assert_allclose(gout.detach().cpu().numpy(), tout.detach().numpy(), rtol=rtol,
                               atol=atol)
    cot = np.random.default_rng(0).standard_normal(tuple(tout.shape))
    (tout * torch.tensor(cot, dtype=tout.dtype)).sum().backward()
    (gout * gt.tensor(cot, dtype=gout.dtype, device=device)).sum().backward()
    for k, v in inputs.items():
        if isinstance(v, torch.Tensor) and v.requires_grad:
            np.testing.assert_allclose(gin[k].grad.cpu().numpy(), v.grad.numpy(), rtol=rtol,
                                       atol=atol, err_msg=f"grad of {k}")
    gparams = dict(gmod.named_parameters())
    for name, tp in tmod.named_parameters():
        np.testing.assert_allclose(gparams[name].grad.cpu().numpy(), tp.grad.numpy(),
                                   rtol=rtol, atol=atol, err_msg=f"grad of {name}")
    return gout


def _seq(*shape, dtype=torch.float64, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype).requires_grad_(True)


def _bt(batch_first, T, dtype=torch.float64, seed=1):
    return _seq(N, T, E, dtype=dtype, seed=seed) if batch_first else \
        _seq(T, N, E, dtype=dtype, seed=seed)


def _kpm(T, seed, as_float=False, dtype=torch.float64):
    """A key padding mask that pads a different tail per batch row (never a whole row)."""
    m = torch.zeros(N, T, dtype=torch.bool)
    for i in range(N):
        m[i, T - 1 - (i + seed) % (T - 1):] = True
    if as_float:
        return torch.zeros(N, T, dtype=dtype).masked_fill(m, float("-inf"))
    return m


def _bool_causal(T):
    return torch.ones(T, T, dtype=torch.bool).triu(1)


MASKS = {
    "none": lambda: {},
    "causal_float": lambda: dict(tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(
        L, dtype=torch.float64), tgt_is_causal=True),
    "causal_bool": lambda: dict(tgt_mask=_bool_causal(L)),
    "padding_bool": lambda: dict(tgt_key_padding_mask=_kpm(L, 0),
                                 memory_key_padding_mask=_kpm(S, 1)),
    "padding_float": lambda: dict(tgt_key_padding_mask=_kpm(L, 1, True),
                                  memory_key_padding_mask=_kpm(S, 0, True)),
    "all_float": lambda: dict(tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(
        L, dtype=torch.float64), memory_mask=torch.randn(L, S, dtype=torch.float64),
        memory_key_padding_mask=_kpm(S, 2, True)),
    "causal_bool_with_padding": lambda: dict(tgt_mask=_bool_causal(L),
                                             tgt_key_padding_mask=_kpm(L, 1),
                                             memory_mask=torch.rand(L, S) > 0.8),
}


@pytest.mark.parametrize("mask", list(MASKS))
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_decoder_layer_matches_torch(mask, batch_first, norm_first):
    g, t = _pair("TransformerDecoderLayer", E, H, FF, dropout=0.1, batch_first=batch_first,
                 norm_first=norm_first)
    masks = MASKS[mask]()
    if mask == "causal_bool_with_padding":
        masks["memory_mask"][:, 0] = False  # every query keeps a key
    _compare(g, t, dict(tgt=_bt(batch_first, L), memory=_bt(batch_first, S, seed=2), **masks))


@pytest.mark.parametrize("activation", ["gelu", torch.nn.functional.gelu, "module"])
def test_decoder_layer_activations(activation):
    if activation == "module":
        ga, ta = nn.GELU(approximate="tanh"), torch.nn.GELU(approximate="tanh")
    elif callable(activation):
        ga, ta = gt.nn.functional.gelu, activation
    else:
        ga = ta = activation
    t = torch.nn.TransformerDecoderLayer(E, H, FF, activation=ta).double().eval()
    g = _copy(nn.TransformerDecoderLayer(E, H, FF, activation=ga).double().eval(), t)
    # gputensor's erf (exact gelu) is accurate to float32 precision only, even in float64
    tol = dict(rtol=1e-9, atol=1e-10) if activation == "module" else dict(rtol=1e-6, atol=1e-7)
    _compare(g, t, dict(tgt=_bt(False, L), memory=_bt(False, S, seed=2)), **tol)


def test_decoder_layer_without_bias_and_eps():
    g, t = _pair("TransformerDecoderLayer", E, H, FF, bias=False, layer_norm_eps=1e-3)
    assert "norm1.bias" not in dict(g.named_parameters())
    _compare(g, t, dict(tgt=_bt(False, L), memory=_bt(False, S, seed=2)))


@pytest.mark.parametrize("norm", [False, True])
def test_decoder_stack_matches_torch(norm):
    tl = torch.nn.TransformerDecoderLayer(E, H, FF, batch_first=True)
    t = torch.nn.TransformerDecoder(tl, 2, norm=torch.nn.LayerNorm(E) if norm else None)
    t = t.double().eval()
    gl = nn.TransformerDecoderLayer(E, H, FF, batch_first=True)
    g = _copy(nn.TransformerDecoder(gl, 2, norm=nn.LayerNorm(E) if norm else None).double()
              .eval(), t)
    assert "layers.1.multihead_attn.in_proj_weight" in g.state_dict()
    assert (g.layers[0].linear1.weight is not g.layers[1].linear1.weight)
    _compare(g, t, dict(tgt=_bt(True, L), memory=_bt(True, S, seed=2),
                        tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(
                            L, dtype=torch.float64), tgt_key_padding_mask=_kpm(L, 0)))


def test_unbatched_decoder_layer():
    g, t = _pair("TransformerDecoderLayer", E, H, FF)
    _compare(g, t, dict(tgt=_seq(L, E), memory=_seq(S, E, seed=2),
                        tgt_mask=_bool_causal(L)))


ALL_MASKS = {
    "none": lambda: {},
    "everything": lambda: dict(
        src_mask=torch.randn(S, S, dtype=torch.float64),
        tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64),
        memory_mask=torch.zeros(L, S, dtype=torch.bool),
        src_key_padding_mask=_kpm(S, 0), tgt_key_padding_mask=_kpm(L, 2),
        memory_key_padding_mask=_kpm(S, 0)),
}


@pytest.mark.parametrize("mask", list(ALL_MASKS))
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_transformer_matches_torch(mask, batch_first, norm_first):
    g, t = _pair("Transformer", d_model=E, nhead=H, num_encoder_layers=2, num_decoder_layers=1,
                 dim_feedforward=FF, batch_first=batch_first, norm_first=norm_first)
    _compare(g, t, dict(src=_bt(batch_first, S), tgt=_bt(batch_first, L, seed=3),
                        **ALL_MASKS[mask]()))


def test_transformer_state_dict_keys_and_shapes_match_torch():
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tsd = torch.nn.Transformer(**kw).state_dict()
    gsd = nn.Transformer(**kw).state_dict()
    assert [(k, tuple(v.shape)) for k, v in gsd.items()] == \
        [(k, tuple(v.shape)) for k, v in tsd.items()]
    for key in ("decoder.layers.0.multihead_attn.in_proj_weight", "encoder.norm.weight",
                "decoder.norm.bias", "decoder.layers.1.norm3.weight",
                "encoder.layers.1.self_attn.out_proj.weight"):
        assert key in gsd


def test_constructor_defaults_match_torch():
    for name in ("Transformer", "TransformerDecoderLayer", "TransformerDecoder"):
        gsig = inspect.signature(getattr(nn, name).__init__).parameters
        tsig = inspect.signature(getattr(torch.nn, name).__init__).parameters
        assert list(gsig) == list(tsig), name
        for k, p in tsig.items():
            if k == "activation":
                assert gsig[k].default is gt.nn.functional.relu
            elif p.default is not inspect.Parameter.empty:
                assert gsig[k].default == p.default, (name, k)
    for name in ("forward",):
        for cls in ("Transformer", "TransformerDecoderLayer", "TransformerDecoder"):
            gsig = inspect.signature(getattr(getattr(nn, cls), name)).parameters
            tsig = inspect.signature(getattr(getattr(torch.nn, cls), name)).parameters
            assert [(k, p.default) for k, p in gsig.items()] == \
                [(k, p.default) for k, p in tsig.items()], cls


def test_transformer_init_is_xavier_uniform():
    gt.manual_seed(0)
    m = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                       dim_feedforward=32)
    w = m.decoder.layers[0].linear1.weight.detach().numpy()
    bound = np.sqrt(6.0 / (16 + 32))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert float(m.encoder.layers[0].self_attn.in_proj_bias.abs().sum()) == 0.0


def test_generate_square_subsequent_mask_matches_torch():
    g = nn.Transformer.generate_square_subsequent_mask(5)
    t = torch.nn.Transformer.generate_square_subsequent_mask(5)
    assert g.dtype == gt.float32
    np.testing.assert_array_equal(g.numpy(), t.numpy())
    g64 = nn.Transformer.generate_square_subsequent_mask(3, dtype=gt.float64, device="cpu")
    assert g64.dtype == gt.float64 and tuple(g64.shape) == (3, 3)


def test_custom_encoder_and_decoder_are_used():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF), 1)
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, FF), 1)
    m = nn.Transformer(d_model=E, nhead=H, custom_encoder=enc, custom_decoder=dec)
    assert m.encoder is enc and m.decoder is dec
    assert sorted({k.split(".")[0] for k in m.state_dict()}) == ["decoder", "encoder"]


def test_transformer_errors_like_torch():
    g = nn.Transformer(d_model=E, nhead=H, num_encoder_layers=1, num_decoder_layers=1,
                       dim_feedforward=FF)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        g(gt.zeros(S, 2, E), gt.zeros(L, 3, E))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal"):
        g(gt.zeros(S, 2, E), gt.zeros(L, 2, E + 2))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerDecoderLayer(E, H, activation="tanh")
    layer = nn.TransformerDecoderLayer(E, H, FF)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        layer(gt.zeros(L, 2, E), gt.zeros(S, 2, E), tgt_is_causal=True)


def test_training_mode_applies_dropout():
    g = nn.TransformerDecoderLayer(E, H, FF, dropout=0.5)
    x, mem = gt.randn(L, N, E), gt.randn(S, N, E)
    a, b = g(x, mem), g(x, mem)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    g.eval()
    np.testing.assert_array_equal(g(x, mem).detach().numpy(), g(x, mem).detach().numpy())


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@pytest.mark.parametrize("shape_kind", ["2d", "3d"])
@pytest.mark.parametrize("average", [True, False])
def test_multihead_attention_masks_and_weights(shape_kind, average):
    t = torch.nn.MultiheadAttention(E, H).double()
    g = _copy(nn.MultiheadAttention(E, H).double(), t)
    q, k = _seq(L, N, E), _seq(S, N, E, seed=2)
    mask = torch.randn(L, S, dtype=torch.float64) if shape_kind == "2d" else \
        torch.randn(N * H, L, S, dtype=torch.float64)
    to, tw = t(q, k, k, attn_mask=mask, need_weights=True, average_attn_weights=average,
               key_padding_mask=_kpm(S, 1))
    go, gw = g(_to_gt(q), _to_gt(k), _to_gt(k), attn_mask=_to_gt(mask), need_weights=True,
               average_attn_weights=average, key_padding_mask=_to_gt(_kpm(S, 1)))
    assert tuple(gw.shape) == tuple(tw.shape)
    np.testing.assert_allclose(go.detach().numpy(), to.detach().numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(gw.detach().numpy(), tw.detach().numpy(), rtol=1e-9, atol=1e-10)
    with pytest.raises(RuntimeError, match="shape of the attn_mask"):
        g(_to_gt(q), _to_gt(k), _to_gt(k), attn_mask=gt.zeros(L + 1, S, dtype=gt.float64))


def test_transformer_on_device_float32(device):
    """A tiny model on each device (the simulator is slow): forward and gradients vs torch."""
    e, h, ff = 4, 2, 6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.nn.Transformer(d_model=e, nhead=h, num_encoder_layers=1, num_decoder_layers=1,
                                 dim_feedforward=ff, batch_first=True).eval()
    g = nn.Transformer(d_model=e, nhead=h, num_encoder_layers=1, num_decoder_layers=1,
                       dim_feedforward=ff, batch_first=True)
    _copy(g, t)
    g = g.to(device).eval()
    gen = torch.Generator().manual_seed(5)
    src = torch.randn(2, 3, e, generator=gen).requires_grad_(True)
    tgt = torch.randn(2, 2, e, generator=gen).requires_grad_(True)
    out = _compare(g, t, dict(src=src, tgt=tgt,
                              tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(2),
                              src_key_padding_mask=torch.tensor([[False, False, True],
                                                                 [False, False, False]])),
                   rtol=1e-4, atol=1e-5, device=device)
    assert out.device.type == device


def test_fully_masked_memory_row_gives_zero_attention_like_torch():
    """torch's need_weights=False path (used by the layers) yields zeros, not NaN, for a query
    whose keys are all padded; gradients stay finite."""
    g, t = _pair("TransformerDecoderLayer", E, H, FF)
    kpm = _kpm(S, 0)
    kpm[1] = True
    out = _compare(g, t, dict(tgt=_bt(False, L), memory=_bt(False, S, seed=2),
                              memory_key_padding_mask=kpm))
    assert np.isfinite(out.detach().numpy()).all()
