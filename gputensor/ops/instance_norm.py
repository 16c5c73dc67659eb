"""``F.instance_norm``: batch norm over each (sample, channel) pair's spatial positions, done as
torch does it: the batch folded into the channels, one batch_norm, running statistics averaged
back over the batch."""
from __future__ import annotations

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .nn_functional import batch_norm


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected at least 3D input (N, C, *), got "
                         f"{input.ndim}D input of size {list(input.shape)}")
    if use_input_stats and input[0, 0].numel() <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{input.shape}")
    n, c = input.shape[0], input.shape[1]

    def rep(t):
        return None if t is None else t.repeat(n)

    rm, rv = rep(running_mean), rep(running_var)
    out = batch_norm(input.reshape((1, n * c) + tuple(input.shape[2:])), rm, rv, rep(weight),
                     rep(bias), use_input_stats, momentum, eps)
    if use_input_stats:
        with no_grad():
            for buf, rep_buf in ((running_mean, rm), (running_var, rv)):
                if buf is not None:
                    buf.copy_(rep_buf.reshape(n, c).mean(0))
    return out.reshape(input.shape)


__all__ = ["instance_norm"]
