"""Numba loops behind the CPU pooling kernels (``pool_cpu``), over (planes, H, W) arrays.

Every 2-d pool (fixed windows or adaptive) is described per axis by window bounds: output ``o``
reads rows ``hs[o], hs[o] + dh, ... < he[o]`` (already clipped to the input, so padding is never
read) and columns likewise. That one description serves max/avg forward and backward for both
fixed and adaptive pooling, so only four loops exist, each compiled lazily per dtype (float32,
float64, and int64 for integer max pooling). The loops mirror torch's CPU kernels: a max starts
at -inf with the window's first in-input tap as its index and takes any later value that is
greater or NaN; an average sums in the accumulation dtype and divides once.

Planes run in parallel (``prange``; they are independent, so backward scatters never race) once
the work is large enough to pay for waking the threads (like torch's grain size); smaller calls,
and every call in a forked child (GNU OpenMP, Numba's threading layer here, aborts a forked
child that launches a parallel region), run a serial build of the same loop.
"""
from __future__ import annotations

import os
import types

from numba import njit, prange

GRAIN = 1 << 16  # elements (input plus output) below which a call stays on one thread
_forked = False


def _in_child() -> None:
    global _forked
    _forked = True


os.register_at_fork(after_in_child=_in_child)


def _builds(fn) -> tuple:
    """(serial, parallel) Numba builds of loop ``fn``, as distinct functions so that their disk
    caches (keyed by function name, not by compile flags) never mix."""
    out = []
    for parallel in (False, True):
        name = f"{fn.__name__}_{'parallel' if parallel else 'serial'}"
        copy = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__,
                                  fn.__closure__)
        copy.__qualname__, copy.__doc__ = name, fn.__doc__
        out.append(njit(cache=True, parallel=parallel, nogil=True, error_model="numpy")(copy))
    return tuple(out)


def run(loop: tuple, work: int, *args) -> None:
    """Run ``loop`` (a ``_builds`` pair) on ``args``, in parallel when ``work`` elements pay."""
    loop[work >= GRAIN and not _forked](*args)


def _max_forward(x, hs, he, ws, we, dh, dw, fill, y, idx):
    """y[p, i, j] = max of window (i, j) of plane p; idx = its flat h * W + w input index."""
    planes, width = x.shape[0], x.shape[2]
    oh, ow = hs.size, ws.size
    for p in prange(planes):
        for i in range(oh):
            h0, h1 = hs[i], he[i]
            for j in range(ow):
                w0, w1 = ws[j], we[j]
                best = fill
                at = h0 * width + w0
                for h in range(h0, h1, dh):
                    for w in range(w0, w1, dw):
                        v = x[p, h, w]
                        if v > best or v != v:  # a NaN wins (and a later NaN replaces it)
                            best = v
                            at = h * width + w
                y[p, i, j] = best
                idx[p, i, j] = at


def _max_backward(gy, idx, gx):
    """gx[p, idx[p, o]] += gy[p, o] over (planes, outputs) and (planes, H * W) arrays (``gx``
    zero on entry)."""
    for p in prange(gx.shape[0]):
        for o in range(gy.shape[1]):
            gx[p, idx[p, o]] += gy[p, o]


def _avg_forward(x, hs, he, ws, we, div, zero, y):
    """y[p, i, j] = (sum of window (i, j)) / div[i, j]; an empty window gives 0 (``zero``, the
    accumulation dtype's)."""
    planes = x.shape[0]
    oh, ow = hs.size, ws.size
    for p in prange(planes):
        for i in range(oh):
            h0, h1 = hs[i], he[i]
            for j in range(ow):
                w0, w1 = ws[j], we[j]
                s = zero
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        s += x[p, h, w]
                if h1 > h0 and w1 > w0:
                    s = s / div[i, j]
                y[p, i, j] = s


def _avg_backward(gy, hs, he, ws, we, div, gx):
    """gx[p, window (i, j)] += gy[p, i, j] / div[i, j] (``gx`` zero on entry)."""
    planes = gx.shape[0]
    oh, ow = hs.size, ws.size
    for p in prange(planes):
        for i in range(oh):
            h0, h1 = hs[i], he[i]
            for j in range(ow):
                w0, w1 = ws[j], we[j]
                if h1 <= h0 or w1 <= w0:
                    continue
                g = gy[p, i, j] / div[i, j]
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        gx[p, h, w] += g


MAX_FORWARD, MAX_BACKWARD = _builds(_max_forward), _builds(_max_backward)
AVG_FORWARD, AVG_BACKWARD = _builds(_avg_forward), _builds(_avg_backward)
