"""Fused CPU optimizer steps: one Numba call updates every parameter of a (device, dtype) bucket.

Parameters are reached through their raw addresses (``addrs``, one per C-contiguous parameter,
``offsets`` into the flat gradient / state buffers), so a step neither gathers nor scatters the
parameters; gradients and state are flat buffers. Each element follows the single-tensor update's
operation order with scalars in the parameter dtype, so the values match the per-parameter path.
Only float32 / float64 are compiled (the callers route other dtypes to the NumPy path).
"""
from __future__ import annotations

import numpy as np
from numba import carray, njit, types
from numba.extending import intrinsic


@intrinsic
def _as_ptr(typingctx, addr, like):
    """``addr`` (an int64 address) as a pointer to ``like``'s element type."""
    ptr_t = types.CPointer(like.dtype)

    def codegen(context, builder, sig, args):
        return builder.inttoptr(args[0], context.get_value_type(ptr_t))
    return ptr_t(addr, like), codegen


# Inner loops take their flags as constants from each call site (inlined, so LLVM drops the dead
# branches and vectorizes; a runtime flag, or Python's division-by-zero check, keeps them scalar).
@njit(inline="always", error_model="numpy")
def _sgd_elems(p, grads, bufs, lr, wd, momentum, damp, sgn, nesterov, fresh, decay,
               has_momentum):
    for k in range(p.shape[0]):
        g = sgn * grads[k]
        if decay:
            g = g + wd * p[k]
        if has_momentum:
            b = g if fresh else bufs[k] * momentum + damp * g
            bufs[k] = b
            g = g + momentum * b if nesterov else b
        p[k] = p[k] - lr * g


@njit(cache=True, error_model="numpy")
def sgd_step(addrs, offsets, grads, bufs, lr, wd, momentum, damp, nesterov, maximize, fresh):
    """SGD for every parameter; ``damp`` is ``1 - dampening``, ``fresh[i]`` marks a momentum
    buffer created by this step."""
    sgn = grads.dtype.type(-1) if maximize else grads.dtype.type(1)
    for i in range(addrs.shape[0]):
        lo, n = offsets[i], offsets[i + 1] - offsets[i]
        p = carray(_as_ptr(addrs[i], grads), (n,))
        f = fresh[i]
        g, b = grads[lo:lo + n], bufs[lo:lo + n]
        if momentum == 0:
            if wd != 0:
                _sgd_elems(p, g, b, lr, wd, momentum, damp, sgn, nesterov, f,
                           True, False)
            else:
                _sgd_elems(p, g, b, lr, wd, momentum, damp, sgn, nesterov, f,
                           False, False)
        elif wd != 0:
            _sgd_elems(p, g, b, lr, wd, momentum, damp, sgn, nesterov, f,
                       True, True)
        else:
            _sgd_elems(p, g, b, lr, wd, momentum, damp, sgn, nesterov, f,
                       False, True)


@njit(inline="always", error_model="numpy")
def _adam_elems(p, grads, exp_avg, exp_avg_sq, max_sq, ss, bc, gwd, shrink, w1, w1c,
                small, beta2, w2, eps, sgn, coupled, amsgrad):
    for k in range(p.shape[0]):
        g = sgn * grads[k]
        x = p[k] * shrink  # 1 unless decoupled weight decay
        if coupled:
            g = g + gwd * x
        a = exp_avg[k]
        a = a + w1 * (g - a) if small else g - (g - a) * w1c
        exp_avg[k] = a
        s = exp_avg_sq[k] * beta2 + w2 * (g * g)
        exp_avg_sq[k] = s
        if amsgrad:
            mv = max_sq[k]
            s = mv if (mv > s or mv != mv) else s  # NaN-propagating, as np.maximum
            max_sq[k] = s
        p[k] = x - ss * (a / (np.sqrt(s) / bc + eps))


@njit(cache=True, error_model="numpy")
def adam_step(addrs, offsets, grads, exp_avg, exp_avg_sq, max_sq, step_size, bc2, wd, shrink,
              w1, w1c, beta2, w2, eps, decoupled, amsgrad, maximize):
    """Adam / AdamW for every parameter. ``step_size[i]``, ``bc2[i]``: parameter i's bias
    corrections (``lr / (1 - beta1**t)``, ``sqrt(1 - beta2**t)``); ``shrink = 1 - lr * wd``,
    ``w1 = 1 - beta1``, ``w1c = 1 - w1``, ``w2 = 1 - beta2`` (all rounded from Python floats,
    as the NumPy path rounds them)."""
    one = grads.dtype.type(1)
    sgn = -one if maximize else one
    coupled = wd != 0 and not decoupled
    if not (decoupled and wd != 0):
        shrink = one
    small = w1 < 0.5
    for i in range(addrs.shape[0]):
        lo, n = offsets[i], offsets[i + 1] - offsets[i]
        p = carray(_as_ptr(addrs[i], grads), (n,))
        ss, bc = step_size[i], bc2[i]
        g, m, v = grads[lo:lo + n], exp_avg[lo:lo + n], exp_avg_sq[lo:lo + n]
        mx = max_sq[lo:lo + n]  # a dummy of the same size unless amsgrad
        if amsgrad:
            if coupled:
                _adam_elems(p, g, m, v, mx, ss, bc, wd, shrink,
                            w1, w1c, small, beta2, w2, eps, sgn, True, True)
            else:
                _adam_elems(p, g, m, v, mx, ss, bc, wd, shrink,
                            w1, w1c, small, beta2, w2, eps, sgn, False, True)
        elif coupled:
            _adam_elems(p, g, m, v, mx, ss, bc, wd, shrink,
                        w1, w1c, small, beta2, w2, eps, sgn, True, False)
        else:
            _adam_elems(p, g, m, v, mx, ss, bc, wd, shrink,
                        w1, w1c, small, beta2, w2, eps, sgn, False, False)


def addresses(arrays) -> np.ndarray:
    """The data addresses of C-contiguous arrays, as the kernels take them."""
    return np.array([a.ctypes.data for a in arrays], dtype=np.int64)


def scalar(dtype, value):
    """``value`` in the kernels' scalar type for ``dtype`` (so float32 math stays float32)."""
    return np.dtype(dtype).type(value)


@njit(inline="always", error_model="numpy")
def _adagrad_elems(p, grads, sums, c, wd, eps, sgn, decay):
    for k in range(p.shape[0]):
        g = sgn * grads[k]
        if decay:
            g = g + wd * p[k]
        s = sums[k] + g * g
        sums[k] = s
        p[k] = p[k] - c * (g / (np.sqrt(s) + eps))


@njit(cache=True, error_model="numpy")
def adagrad_step(addrs, offsets, grads, sums, clr, wd, eps, maximize):
    """Adagrad for every parameter; ``clr[i]``: parameter i's decayed learning rate."""
    one = grads.dtype.type(1)
    sgn = -one if maximize else one
    for i in range(addrs.shape[0]):
        lo, n = offsets[i], offsets[i + 1] - offsets[i]
        p = carray(_as_ptr(addrs[i], grads), (n,))
        g, s = grads[lo:lo + n], sums[lo:lo + n]
        if wd != 0:
            _adagrad_elems(p, g, s, clr[i], wd, eps, sgn, True)
        else:
            _adagrad_elems(p, g, s, clr[i], wd, eps, sgn, False)
