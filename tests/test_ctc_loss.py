"""CTC loss: values and gradients (torch's, including its exp(log_probs) term) against PyTorch."""
import numpy as np
import pytest
import torch
from helpers import check_grad, to_np

import gputensor as gt

R = np.random.default_rng(3)
LOGITS = R.standard_normal((6, 3, 5))
PADDED = np.array([[1, 2, 2], [3, 1, 0], [4, 4, 4]])  # repeats need a blank between them


def _run(lib, logits, targets, il, tl, dtype, device="cpu", **kw):
    x = lib.tensor(logits.astype(dtype))
    if lib is gt:
        x = x.to(device)
    lp = x.log_softmax(-1).detach().requires_grad_(True)
    tg = lib.tensor(targets)
    if lib is gt:
        tg = tg.to(device)
    conv = (lambda v: lib.tensor(np.asarray(v))) if isinstance(il, np.ndarray) else (lambda v: v)
    loss = lib.nn.functional.ctc_loss(lp, tg, conv(il), conv(tl), **kw)
    w = lib.tensor(np.linspace(0.5, 1.5, max(loss.numel(), 1)).reshape(tuple(loss.shape))
                   .astype(dtype))
    if lib is gt:
        w = w.to(device)
    (loss * w).sum().backward()
    return to_np(loss) if lib is gt else loss.detach().numpy(), \
        to_np(lp.grad) if lib is gt else lp.grad.numpy()


CONFIGS = {
    "full_lengths": ([6, 6, 6], [3, 2, 3], {}),
    "short_inputs": ([6, 4, 5], [3, 2, 1], {}),
    "empty_target": ([6, 4, 6], [3, 2, 0], {}),
    "zero_input_length": ([6, 0, 3], [3, 0, 1], {}),
    "impossible": ([2, 4, 6], [3, 2, 1], {}),
    "impossible_zero_inf": ([2, 4, 6], [3, 2, 1], {"zero_infinity": True}),
    "blank_last": ([6, 5, 4], [3, 2, 1], {"blank": 4}),
    "blank_mid": ([6, 5, 4], [3, 2, 1], {"blank": 2}),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_ctc_vs_torch(config, reduction, dtype):
    il, tl, kw = CONFIGS[config]
    targets = PADDED
    if kw.get("blank"):
        targets = np.where(PADDED == kw["blank"], 0, PADDED)
    g = _run(gt, LOGITS, targets, il, tl, dtype, reduction=reduction, **kw)
    t = _run(torch, LOGITS, targets, il, tl, dtype, reduction=reduction, **kw)
    assert g[0].shape == t[0].shape and g[0].dtype == t[0].dtype
    tol = 1e-5 if dtype == np.float32 else 1e-10
    for a, b in zip(g, t):
        np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol)


@pytest.mark.parametrize("form", ["tensor_lengths", "int32", "concatenated", "unbatched",
                                  "unbatched_tensor_lengths"])
def test_ctc_input_forms(form):
    il, tl = [6, 4, 5], [3, 2, 1]
    targets, logits = PADDED, LOGITS
    if form == "tensor_lengths":
        il, tl = np.array(il), np.array(tl)
    elif form == "int32":
        il, tl, targets = np.array(il, np.int32), np.array(tl, np.int32), PADDED.astype(np.int32)
    elif form == "concatenated":
        targets = np.concatenate([PADDED[n, :tl[n]] for n in range(3)])
    elif form.startswith("unbatched"):
        logits, targets, il, tl = LOGITS[:, 0], PADDED[0], (6,), (3,)
        if form == "unbatched_tensor_lengths":
            il, tl = np.array(6), np.array(3)
    for red in ("none", "mean"):
        g = _run(gt, logits, targets, il, tl, np.float64, reduction=red)
        t = _run(torch, logits, targets, il, tl, np.float64, reduction=red)
        assert g[0].shape == t[0].shape
        for a, b in zip(g, t):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)


def test_ctc_gradcheck_through_log_softmax(device):
    """torch's CTC gradient is the logits' gradient; through log_softmax it is the true one."""
    logits = LOGITS[:4, :2, :3] if device == "cuda" else LOGITS
    targets = np.array([[1, 2], [2, 2]]) if device == "cuda" else PADDED
    il, tl = ([4, 3], [2, 1]) if device == "cuda" else ([6, 4, 5], [3, 2, 1])
    tgt = gt.tensor(targets, device=device)
    check_grad(lambda x: gt.nn.functional.ctc_loss(x.log_softmax(2), tgt, il, tl,
                                                   reduction="sum"), logits, device=device)


def test_ctc_cuda_matches_torch():
    g = _run(gt, LOGITS[:4, :2, :3], np.array([[1, 2], [1, 1]]), [4, 3], [2, 2], np.float32,
             device="cuda", reduction="mean")
    t = _run(torch, LOGITS[:4, :2, :3], np.array([[1, 2], [1, 1]]), [4, 3], [2, 2],
             np.float32, reduction="mean")
    for a, b in zip(g, t):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_ctc_module_and_top_level():
    lp = LOGITS.astype(np.float32)
    outs = {}
    for lib in (gt, torch):
        x = lib.tensor(lp).log_softmax(2)
        m = lib.nn.CTCLoss(blank=0, reduction="sum", zero_infinity=True)
        outs[lib.__name__] = (float(m(x, lib.tensor(PADDED), [2, 4, 6], [3, 2, 1])),
                              np.asarray(lib.ctc_loss(x, lib.tensor(PADDED), [6, 4, 6],
                                                      [3, 2, 1])),
                              float(lib.ctc_loss(x, lib.tensor(PADDED), [6, 4, 6], [3, 2, 1],
                                                 0, 1, False)))
    g, t = outs["gputensor"], outs["torch"]
    np.testing.assert_allclose(g[0], t[0], rtol=1e-5)
    assert g[1].shape == t[1].shape == (3,)  # the top-level default: no reduction
    np.testing.assert_allclose(g[1], t[1], rtol=1e-5)
    np.testing.assert_allclose(g[2], t[2], rtol=1e-5)


ERRORS = {
    "input_length_too_long": ([7, 4, 6], [3, 2, 1], {}),
    "target_too_short": ([6, 4, 6], [4, 2, 1], {}),
    "lengths_size": ([6, 4], [3, 2, 1], {}),
    "blank_range": ([6, 4, 6], [3, 2, 1], {"blank": 5}),
    "reduction": ([6, 4, 6], [3, 2, 1], {"reduction": "avg"}),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_ctc_errors(case):
    il, tl, kw = ERRORS[case]
    raised = []
    for lib in (gt, torch):
        x = lib.tensor(LOGITS.astype(np.float32)).log_softmax(2)
        with pytest.raises(Exception) as info:
            lib.nn.functional.ctc_loss(x, lib.tensor(PADDED), il, tl, **kw)
        raised.append((info.type, str(info.value)))
    assert raised[0] == raised[1]


def test_ctc_half_not_implemented():
    x = gt.tensor(LOGITS.astype(np.float16))
    with pytest.raises(NotImplementedError, match="not implemented for 'Half'"):
        gt.nn.functional.ctc_loss(x, gt.tensor(PADDED), [6, 6, 6], [3, 2, 1])
