"""``torch.vmap`` by a loop: ``func`` runs once per batch element (inputs sliced along their
``in_dims``) and the results are stacked along ``out_dims``. Values and gradients equal a
vectorised map's; speed does not (gputensor has no batching rules). ``randomness`` other than
"error"/"different"/"same" is rejected as in torch; per-element calls draw different numbers,
which is what "different" means, and "error" does not raise here."""
from __future__ import annotations

import functools

from .tensor import Tensor


def _flat_dims(args: tuple, in_dims) -> list:
    """(argument position, dim) pairs for the tensors to slice (one level of tuples/lists)."""
    if not isinstance(in_dims, (tuple, list)):
        in_dims = (in_dims,) * len(args)
    if len(in_dims) != len(args):
        raise ValueError(f"vmap(func, in_dims={tuple(in_dims)}, ...)(<inputs>): in_dims is not "
                         f"compatible with the structure of `inputs`. in_dims has structure "
                         f"of length {len(in_dims)} but inputs has length {len(args)}.")
    return list(in_dims)


def _slice(arg, dim, i):
    if dim is None:
        return arg
    if isinstance(arg, Tensor):
        return arg.select(dim, i)
    if isinstance(arg, (tuple, list)):
        dims = dim if isinstance(dim, (tuple, list)) else (dim,) * len(arg)
        return type(arg)(_slice(a, d, i) for a, d in zip(arg, dims))
    if isinstance(arg, dict):
        return {k: _slice(v, dim, i) for k, v in arg.items()}
    raise ValueError(f"vmap: in_dim={dim} given for an input of type {type(arg).__name__}, "
                     f"which is not a Tensor")


def _batch_size(arg, dim):
    if dim is None:
        return None
    if isinstance(arg, Tensor):
        if arg.ndim == 0:
            raise ValueError(f"vmap: Tried to vmap over dim {dim} for a 0-dim tensor; vmap "
                             f"needs inputs with at least one dimension")
        return arg.shape[dim]
    if isinstance(arg, (tuple, list)):
        dims = dim if isinstance(dim, (tuple, list)) else (dim,) * len(arg)
        sizes = [_batch_size(a, d) for a, d in zip(arg, dims)]
    elif isinstance(arg, dict):
        sizes = [_batch_size(v, dim) for v in arg.values()]
    else:
        return None
    sizes = [s for s in sizes if s is not None]
    return sizes[0] if sizes else None


def _stack(results: list, out_dims):
    from .ops.join_split import stack
    first = results[0]
    if isinstance(first, Tensor):
        return stack(results, dim=out_dims if isinstance(out_dims, int) else out_dims[0])
    if isinstance(first, (tuple, list)):
        dims = out_dims if isinstance(out_dims, (tuple, list)) else (out_dims,) * len(first)
        return type(first)(_stack([r[k] for r in results], d) for k, d in enumerate(dims))
    if isinstance(first, dict):
        return {k: _stack([r[k] for r in results], out_dims) for k in first}
    raise ValueError(f"vmap: `func` must return only tensors, got a {type(first).__name__}")


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """Map ``func`` over a batch dim of its inputs (see the module docstring)."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        dims = _flat_dims(args, in_dims)
        sizes = {s for s in (_batch_size(a, d) for a, d in zip(args, dims)) if s is not None}
        if not sizes:
            raise ValueError("vmap(func)(<inputs>): at least one input must be a Tensor "
                             "mapped over a dimension (in_dims is all None)")
        if len(sizes) > 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped "
                             f"dimension, got sizes {sorted(sizes)} for the mapped dimension")
        (n,) = sizes
        results = [func(*(_slice(a, d, i) for a, d in zip(args, dims)), **kwargs)
                   for i in range(n)]
        return _stack(results, out_dims)
    return wrapped


__all__ = ["vmap"]
