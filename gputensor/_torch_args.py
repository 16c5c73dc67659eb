"""The keyword forms torch's argument parser accepts on every op, added by ONE wrapper.

torch accepts NumPy's ``axis=`` for ``dim=`` and ``keepdims=`` for ``keepdim=`` on any op with
those parameters, and ``out=`` on the functions listed in ``OUT_OPS`` (from the ``.out``
overloads of torch 2.x). ``adapt(f, name)`` inspects ``f``'s signature once, at import, and
returns ``f`` itself when nothing applies, else a thin wrapper whose keyword-free call path is a
single ``if``. ``tensor_method`` applies it to every op; ``gputensor/__init__`` applies it to the
other public functions (``cat``, ``stack`` ...), so ops added later are covered automatically.
"""
from __future__ import annotations

import functools
import inspect
import warnings

import numpy as np

OUT_OPS = frozenset("""
    abs absolute acos acosh add addbmm addcdiv addcmul addmm addmv addr all amax amin
    aminmax angle any arange arccos arccosh arcsin arcsinh arctan arctan2 arctanh argmax
    argmin argsort asin asinh atan atan2 atanh baddbmm bernoulli bitwise_and
    bitwise_left_shift bitwise_not bitwise_or bitwise_right_shift bitwise_xor bmm bucketize
    cat ceil chain_matmul cholesky cholesky_inverse cholesky_solve clamp clamp_max clamp_min
    clip column_stack complex concat concatenate conj_physical copysign cos cosh
    count_nonzero cross cummax cummin cumprod cumsum deg2rad diag diff digamma div divide
    dot dstack empty eq erf erfc erfinv exp exp2 expm1 eye fill fix float_power floor
    floor_divide fmax fmin fmod frac frexp full gather gcd ge geqrf ger greater
    greater_equal gt hardshrink heaviside histc histogram histogramdd hstack hypot i0 igamma
    igammac index_fill index_select inner inverse isin isneginf isposinf kron kthvalue lcm
    ldexp le lerp less less_equal lgamma linspace log log10 log1p log2 log_softmax logaddexp
    logaddexp2 logcumsumexp logical_and logical_not logical_or logical_xor logit logspace
    logsumexp lt lu_solve lu_unpack masked_fill masked_select matmul matrix_power max
    maximum mean median min minimum mm mode msort mul multinomial multiply mv mvlgamma
    nan_to_num nanmean nanmedian nanquantile nansum ne neg negative nextafter nonzero norm
    normal not_equal nuclear_norm ones ormqr outer polar polygamma pow prod quantile rad2deg
    rand rand_like randint randint_like randn randn_like randperm range reciprocal remainder
    renorm repeat_interleave round row_stack rsqrt rsub scatter scatter_add searchsorted sgn
    sigmoid sign signbit sin sinc sinh softmax sort sqrt square stack std std_mean sub
    subtract sum svd take_along_dim tan tanh tensordot topk triangular_solve tril triu
    true_divide trunc var var_mean vdot vstack where xlogy zeros
""".split())

# out= of torch's element-wise (TensorIterator) ops refuses an expanded ``out`` and one that
# partially overlaps an input; mm and cat refuse only the expanded ``out`` (``_overlap``).
ELEMENTWISE_OUT = frozenset("""
    abs absolute acos acosh add addcdiv addcmul angle arccos arccosh arcsin arcsinh arctan
    arctan2 arctanh asin asinh atan atan2 atanh bitwise_and bitwise_left_shift bitwise_not
    bitwise_or bitwise_right_shift bitwise_xor ceil clamp clamp_max clamp_min clip copysign cos
    cosh deg2rad digamma div divide eq erf erfc erfinv exp exp2 expm1 fix float_power floor
    floor_divide fmax fmin fmod frac gcd ge greater greater_equal gt heaviside hypot i0 igamma
    igammac isneginf isposinf lcm ldexp le lerp less less_equal lgamma log log10 log1p log2
    logaddexp logaddexp2 logical_and logical_not logical_or logical_xor logit lt maximum minimum
    mul multiply nan_to_num ne neg negative nextafter not_equal polygamma pow rad2deg reciprocal
    remainder round rsqrt rsub sgn sigmoid sign signbit sin sinc sinh sqrt square sub subtract
    tan tanh true_divide trunc where xlogy
""".split())
_NO_EXPANDED_OUT = ELEMENTWISE_OUT | {"mm", "bmm", "matmul", "cat", "concat", "concatenate"}

_ALIASES = (("axis", "dim"), ("keepdims", "keepdim"))
_TORCH_TYPE = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
               "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
               "uint8": "Byte", "bool": "Bool"}


def adapt(f, name: str | None = None):
    """``f``, or a wrapper taking torch's ``axis``/``keepdims`` aliases and ``out=``."""
    if getattr(f, "_torch_args", False) or not callable(f):
        return f
    name = name or getattr(f, "__name__", "")
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        return f
    params = sig.parameters
    aliases = tuple((a, d) for a, d in _ALIASES if d in params and a not in params)
    want_out = name in OUT_OPS and "out" not in params and not name.startswith("_")
    if not aliases and not want_out:
        return f

    @functools.wraps(f)
    def wrapper(*args, **kw):
        if not kw:
            return f(*args)
        if aliases and ("axis" in kw or "keepdims" in kw):
            for a, d in aliases:
                if a in kw:
                    if d in kw:
                        raise TypeError(f"{name}() got multiple values for argument '{d}'")
                    kw[d] = kw.pop(a)
        if want_out and "out" in kw:
            out = kw.pop("out")
            if out is not None:
                return write_out(name, f(*args, **kw), out, (*args, *kw.values()))
        return f(*args, **kw)

    if want_out:
        ps = list(params.values())
        at = next((i for i, p in enumerate(ps) if p.kind == p.VAR_KEYWORD), len(ps))
        ps.insert(at, inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None))
        try:
            wrapper.__signature__ = sig.replace(parameters=ps)
        except ValueError:
            pass
    wrapper._torch_args = True
    return wrapper


def adapt_namespace(ns: dict) -> None:
    """Adapt every public plain function in a module namespace (``gputensor/__init__``)."""
    import sys
    for k, v in list(ns.items()):
        if not k.startswith("_") and inspect.isfunction(v):
            w = ns[k] = adapt(v, k)
            home = sys.modules.get(v.__module__)  # rebind there too, so pickle finds ``w``
            if w is not v and getattr(home, v.__name__, None) is v:
                setattr(home, v.__name__, w)


def _type_name(d) -> str:
    return _TORCH_TYPE.get(d.name, d.name)


def write_out(name: str, result, out, inputs=()):
    """Copy ``result`` into ``out`` as torch's out= does: resize (warning unless out is
    empty), refuse casts torch refuses and the memory overlaps it refuses between ``out`` and
    ``inputs``, never record autograd. Returns ``out``."""
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{name}(): argument 'out' must be tuple of {len(result)} Tensors")
        outs = [write_out(name, r, o) for r, o in zip(result, out)]
        return type(result)(*outs) if hasattr(result, "_fields") else tuple(outs)
    from .autograd import grad_mode
    from .tensor import Tensor
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if grad_mode.is_grad_enabled() and (out.requires_grad or (
            isinstance(result, Tensor) and result.requires_grad)):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    if not isinstance(result, Tensor):
        raise TypeError(f"{name}(): out= needs a tensor result")
    if out._device != result._device:
        raise RuntimeError(f"Expected out tensor to have device {result._device}, but got "
                           f"{out._device} instead")
    rk, sk = result._data.dtype.kind, out._data.dtype.kind
    if (rk == "f" and sk in "biu") or (rk in "iu" and sk == "b"):
        raise RuntimeError(f"result type {_type_name(result.dtype)} can't be cast to the "
                           f"desired output type {_type_name(out.dtype)}")
    xp = result._backend.xp
    if name in _NO_EXPANDED_OUT and out._data.shape == result._data.shape:
        from ._overlap import check_write
        check_write(out._data, inputs if name in ELEMENTWISE_OUT else ())
    with np.errstate(all="ignore"):
        if out._data.shape == result._data.shape:
            out._data[...] = result._data
        else:
            if out._data.size:
                warnings.warn(
                    f"An output with one or more elements was resized since it had shape "
                    f"{list(out._data.shape)}, which does not match the required output shape "
                    f"{list(result._data.shape)}. This behavior is deprecated, and in a future "
                    "PyTorch release outputs will not be resized unless they have zero elements. "
                    "You can explicitly reuse an out tensor t by resizing it, inplace, to zero "
                    "elements with t.resize_(0).", UserWarning, stacklevel=3)
            out._data = xp.array(result._data, dtype=out._data.dtype, copy=True)
    out._version.value += 1
    return out
