"""scaled_dot_product_attention, MultiheadAttention and the transformer encoder against PyTorch
(eval mode, weights copied from torch), plus gradchecks on both devices."""
import numpy as np
import pytest
import torch
from helpers import check_grad, compare_torch, to_gt, to_np
from test_rnn import run_both, twin

import gputensor as gt

E, NH, L, S, N = 4, 2, 3, 5, 2


def lib_of(mod):
    return torch if isinstance(mod, torch.nn.Module) else gt


def sdpa(lib, dev, mask=None, float_dtype=np.float32, **kw):
    if mask is not None and mask.dtype.kind == "f":
        mask = mask.astype(float_dtype)  # a float mask must have the query's dtype
    m = None if mask is None else lib.tensor(mask, device=dev)
    return lambda q, k, v: lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m, **kw)


QL, QS = 2, 3  # query / key lengths of the sdpa tests (gradchecked on the simulator: tiny)


@pytest.fixture
def qkv(rng):
    return (rng.standard_normal((1, QL, 3)), rng.standard_normal((1, QS, 3)),
            rng.standard_normal((1, QS, 2)))


@pytest.mark.parametrize("kind", ["plain", "bool_mask", "float_mask", "causal", "scale"])
def test_sdpa_vs_torch(kind, qkv, rng, device):
    kw = {"scale": 0.3} if kind == "scale" else {"is_causal": True} if kind == "causal" else {}
    mask = {"bool_mask": rng.uniform(size=(QL, QS)) > 0.3,
            "float_mask": rng.standard_normal((1, QL, QS))}.get(kind)
    if kind == "bool_mask":
        mask[:, 0] = True  # every query keeps at least one key
    arrays = [a.astype(np.float32) for a in qkv]
    compare_torch(sdpa(gt, device, mask, **kw), *arrays, device=device,
                  torch_fn=sdpa(torch, "cpu", mask, **kw))
    check_grad(sdpa(gt, device, mask, np.float64, **kw), *qkv, device=device)


def test_sdpa_4d_heads(rng, device):
    q, k, v = (rng.standard_normal((1, 2, n, 3)).astype(np.float32) for n in (L, S, S))
    compare_torch(sdpa(gt, device, is_causal=True), q, k, v, device=device,
                  torch_fn=sdpa(torch, "cpu", is_causal=True))


def test_sdpa_fully_masked_row_is_zero(qkv, device):
    mask = np.ones((QL, QS), bool)
    mask[1] = False
    arrays = [a.astype(np.float32) for a in qkv]
    compare_torch(sdpa(gt, device, mask), *arrays, device=device, torch_fn=sdpa(torch, "cpu", mask))
    q, k, v = (to_gt(a, device, True) for a in arrays)
    out = gt.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=to_gt(mask, device))
    out.sum().backward()
    assert np.isfinite(to_np(q.grad)).all() and np.isfinite(to_np(k.grad)).all()


def test_sdpa_errors(device):
    q = gt.zeros((2, L, E), device=device)
    with pytest.raises(RuntimeError, match="incompatible shapes"):
        gt.nn.functional.scaled_dot_product_attention(q, gt.zeros((2, S, E + 1), device=device),
                                                      gt.zeros((2, S, E), device=device))
    with pytest.raises(TypeError, match="only bool and floating"):
        gt.nn.functional.scaled_dot_product_attention(q, q, q, attn_mask=gt.zeros((L, L), dtype=gt.int64, device=device))
    with pytest.raises(RuntimeError, match="attn_mask.dtype: gputensor.float64 and query.dtype"):
        gt.nn.functional.scaled_dot_product_attention(q, q, q, attn_mask=gt.zeros((L, L), dtype=gt.float64, device=device))


def mha_call(masks: dict, repeat: int = 1, **kw):
    """``mod(*inputs, **masks, **kw)`` with numpy ``masks`` turned into the module's library
    tensors; a single input is passed ``repeat`` times (self-attention: q = k = v)."""
    def call(mod, inputs):
        lib = lib_of(mod)
        dev = "cpu" if lib is torch else next(mod.parameters()).device
        extra = {name: lib.tensor(m, device=dev) for name, m in masks.items()}
        return mod(*(inputs * repeat if len(inputs) == 1 else inputs), **extra, **kw)
    return call


MHA_CASES = {
    "self": ({}, {}, {}),
    "batch_first-per_head_weights": ({"batch_first": True}, {}, {"average_attn_weights": False}),
    "kpm-bool_mask": ({}, {"key_padding_mask": np.array([[False] * (L - 1) + [True], [False] * L]),
                           "attn_mask": np.triu(np.ones((L, L), bool), 1)}, {}),
    "float_3d_mask-no_weights": ({"bias": False}, {"attn_mask": np.linspace(-1, 1, N * NH * L * L)
                                                   .reshape(N * NH, L, L).astype(np.float32)},
                                 {"need_weights": False}),
}


@pytest.mark.parametrize("case", list(MHA_CASES))
def test_multihead_attention_vs_torch(case, rng, device):
    ctor, masks, kw = MHA_CASES[case]
    t_mod, g_mod = twin("MultiheadAttention", E, NH, device=device, **ctor)
    t_mod.eval()
    g_mod.eval()
    shape = (N, L, E) if ctor.get("batch_first") else (L, N, E)
    run_both(t_mod, g_mod, [rng.standard_normal(shape).astype(np.float32)], device,
             call=mha_call(masks, repeat=3, **kw))


@pytest.mark.parametrize("unbatched", [False, True])
def test_multihead_attention_kdim_vdim(unbatched, rng, device):
    t_mod, g_mod = twin("MultiheadAttention", E, NH, kdim=3, vdim=5, device=device)
    lead = () if unbatched else (N,)
    arrays = [rng.standard_normal((L,) + lead + (d,)).astype(np.float32) for d in (E, 3, 5)]
    arrays[1:] = [rng.standard_normal((S,) + lead + (d,)).astype(np.float32) for d in (3, 5)]
    run_both(t_mod, g_mod, arrays, device, call=mha_call({}))
    assert g_mod.in_proj_weight is None and tuple(g_mod.k_proj_weight.shape) == (E, 3)


def test_multihead_attention_gradcheck(rng, device):
    mha = gt.nn.MultiheadAttention(2, 2).double().to(device)
    kpm = to_gt(np.array([[False, True]]), device)
    check_grad(lambda x: mha(x, x, x, key_padding_mask=kpm)[0], rng.standard_normal((2, 1, 2)),
               device=device)


def test_multihead_attention_structure():
    g, t = gt.nn.MultiheadAttention(6, 3), torch.nn.MultiheadAttention(6, 3)
    assert [(n, tuple(p.shape)) for n, p in g.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert np.all(to_np(g.in_proj_bias) == 0) and np.all(to_np(g.out_proj.bias) == 0)
    with pytest.raises(AssertionError, match="divisible by num_heads"):
        gt.nn.MultiheadAttention(5, 2)
    x = gt.zeros((L, 1, 6))
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        g(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="key_padding_mask shape"):
        g(x, x, x, key_padding_mask=gt.zeros((2, L), dtype=gt.bool))


def test_multihead_attention_dropout_in_training(rng):
    mha = gt.nn.MultiheadAttention(E, NH, dropout=0.5)
    x = gt.tensor(rng.standard_normal((L, N, E)).astype(np.float32))
    _, w_train = mha(x, x, x)
    mha.eval()
    _, w_eval = mha(x, x, x)
    np.testing.assert_allclose(to_np(w_eval).sum(-1), 1.0, rtol=1e-5)
    assert not np.allclose(to_np(w_train), to_np(w_eval))


ENC_CASES = {
    "post_norm-relu": {},
    "pre_norm-gelu-batch_first": {"norm_first": True, "activation": "gelu", "batch_first": True},
}


@pytest.mark.parametrize("case", list(ENC_CASES))
@pytest.mark.parametrize("with_mask", [False, True])
def test_encoder_layer_vs_torch(case, with_mask, rng, device):
    kw = ENC_CASES[case]
    t_mod, g_mod = twin("TransformerEncoderLayer", E, NH, dim_feedforward=5, device=device, **kw)
    t_mod.eval()
    g_mod.eval()
    masks = {"src_mask": np.triu(np.ones((L, L), bool), 1)} if with_mask else {}
    shape = (N, L, E) if kw.get("batch_first") else (L, N, E)
    run_both(t_mod, g_mod, [rng.standard_normal(shape).astype(np.float32)], device,
             call=mha_call(masks))


def test_encoder_stack_vs_torch(rng, device):
    t_layer = torch.nn.TransformerEncoderLayer(E, NH, dim_feedforward=3, dropout=0.0)
    t_mod = torch.nn.TransformerEncoder(t_layer, 2, norm=torch.nn.LayerNorm(E),
                                        enable_nested_tensor=False)
    g_mod = gt.nn.TransformerEncoder(gt.nn.TransformerEncoderLayer(E, NH, dim_feedforward=3, dropout=0.0),
                                     2, norm=gt.nn.LayerNorm(E))
    assert list(g_mod.state_dict()) == list(t_mod.state_dict())
    g_mod.load_state_dict({k: gt.tensor(v.detach().numpy()) for k, v in t_mod.state_dict().items()})
    g_mod.to(device)
    kpm = np.array([[False, False, True], [False] * L])
    run_both(t_mod, g_mod, [rng.standard_normal((L, N, E)).astype(np.float32)], device,
             call=mha_call({"src_key_padding_mask": kpm}))


def test_encoder_layer_structure():
    g = gt.nn.TransformerEncoderLayer(E, NH, dim_feedforward=7)
    t = torch.nn.TransformerEncoderLayer(E, NH, dim_feedforward=7)
    assert [(n, tuple(p.shape)) for n, p in g.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert [n for n, _ in g.named_children()] == [n for n, _ in t.named_children()]
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        gt.nn.TransformerEncoderLayer(E, NH, activation="tanh")
