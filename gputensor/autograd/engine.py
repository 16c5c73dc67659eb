"""The backward pass: an iterative walk of the graph in dependency order.

No recursion (a chain of 100,000 ops backpropagates). Each node runs once, after every node that
feeds it has run, with the gradients of its outputs summed; saved tensors are freed after use
unless ``retain_graph``. With ``inputs`` given (as ``autograd.grad`` does) only nodes that lead to
them run, and their gradients are returned instead of accumulated into ``.grad``.
"""
from __future__ import annotations

import threading

from .. import _dtype as dt
from ..backends import device_guard, enter_device, exit_device
from . import anomaly_mode, function, grad_mode
from .function import AccumulateGrad, accumulator_of

_final = threading.local()  # .callbacks: those of this thread's running backward, else None


def queue_callback(callback) -> None:
    """Run ``callback()`` once the running backward pass has finished (torch's
    ``Variable._execution_engine.queue_callback``; DDP waits for its all-reduces there)."""
    pending = getattr(_final, "callbacks", None)
    if pending is None:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    pending.append(callback)


def _grad_edge(t, what: str, i: int):
    if not t._requires_grad:
        raise RuntimeError(f"element {i} of {what} does not require grad and does not have a "
                           "grad_fn")
    if t._grad_fn is None:
        return accumulator_of(t), 0
    return t._grad_fn, t._output_nr


def run_backward(roots, grads, retain_graph: bool = False, create_graph: bool = False,
                 inputs=None, allow_unused: bool = False):
    """Backpropagate ``grads`` (tensors shaped like ``roots``) from ``roots``.

    Without ``inputs``: accumulate into leaves' ``.grad``. With ``inputs``: return their gradients
    (None for unused ones when ``allow_unused``) and touch no ``.grad``.
    """
    capture = None
    if inputs is not None:  # where each wanted gradient is read: (node, output_nr) -> [index]
        capture = {}
        for i, t in enumerate(inputs):
            if not t._requires_grad:
                raise RuntimeError(f"One of the differentiated Tensors (index {i}) does not "
                                   "require grad")
            capture.setdefault(_grad_edge(t, "inputs", i), []).append(i)

    buffers: dict = {}
    root_nodes = []
    owned = set()  # ids of arrays that live elsewhere: a leaf's .grad must not alias them
    for i, (r, g) in enumerate(zip(roots, grads)):
        node, nr = _grad_edge(r, "tensors", i)
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node._n_outputs
            root_nodes.append(node)
        buf[nr] = g if buf[nr] is None else buf[nr] + g
        owned.add(id(g._data))

    deps, parents = _discover(root_nodes, capture is not None)
    needed = None if capture is None else _reaching(parents, capture)
    results = [None] * len(inputs) if inputs is not None else None
    ready = [n for n in root_nodes if not deps.get(n) and (needed is None or n in needed)]
    prev_mode = grad_mode._state.enabled
    grad_mode._state.enabled = create_graph
    prev_callbacks = getattr(_final, "callbacks", None)
    _final.callbacks = callbacks = []
    try:
        while ready:
            node = ready.pop()
            buf = buffers.pop(node)
            if node._pre_hooks:
                _run_hooks(node._pre_hooks, buf)
            if node.__class__ is AccumulateGrad:
                leaf = node.variable
                g = buf[0]
                for h in leaf._hooks or ():
                    out = h(g)
                    g = g if out is None else out
                if capture is None:
                    d = leaf._device
                    restore = enter_device(d) if d.type == "cuda" else None
                    try:
                        _accumulate(leaf, g, create_graph, owned)
                    finally:
                        if restore is not None:
                            exit_device(restore)
                    for h in leaf.__dict__.get("_post_acc_hooks", ()):  # post-accumulate hooks
                        h(leaf)
                else:
                    for i in capture.get((node, 0), ()):
                        results[i] = g
                continue
            if capture is not None:
                for nr, g in enumerate(buf):
                    for i in capture.get((node, nr), ()):
                        results[i] = g
                if not any(e is not None and e[0] in needed for e in node._edges):
                    continue  # only wanted for its own gradient
            if node._retained:
                for nr, ref in node._retained.items():
                    t = ref()
                    if t is not None and buf[nr] is not None:
                        _accumulate(t, buf[nr], create_graph, owned)
            if node._n_outputs > 1 and node.materialize_grads:
                for nr, g in enumerate(buf):
                    if g is None:
                        buf[nr] = _zeros_for(node, nr)
            restore = None
            for g in buf:  # backward runs on its grads' device
                if g is not None:
                    d = getattr(g, "_device", None)
                    if d is not None and d.type == "cuda":
                        restore = enter_device(d)
                    break
            try:
                if anomaly_mode._enabled:
                    in_grads = node.apply(*buf)
                else:  # Node.apply without its frame
                    in_grads = node._fn.backward(node, *buf)
            finally:
                if restore is not None:
                    exit_device(restore)
            if not retain_graph:
                node.release()
            edges = node._edges
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            if len(in_grads) != len(edges):
                in_grads = _check_count(node, in_grads, len(edges))
            for i, (edge, g) in enumerate(zip(edges, in_grads)):
                if edge is None:
                    continue
                child = edge[0]
                if needed is not None and child not in needed:
                    continue
                if g is not None:
                    try:
                        gd = g._data
                    except AttributeError:
                        raise TypeError(f"function {node.name()} returned a gradient of type "
                                        f"{type(g).__name__} at index {i}; expected a Tensor or "
                                        "None") from None
                    if gd.shape != edge[3] or gd.dtype != edge[2]:
                        g = _fit(node, i, g, edge)
                    cb = buffers.get(child)
                    if cb is None:
                        cb = buffers[child] = [None] * child._n_outputs
                    nr = edge[1]
                    cb[nr] = g if cb[nr] is None else cb[nr] + g
                left = deps[child] - 1
                deps[child] = left
                if left == 0:
                    if child in buffers:
                        ready.append(child)
                    else:  # every path into it gave None: its own inputs get nothing either
                        ready.extend(_skip(child, deps, needed, buffers))
        grad_mode._state.enabled = False
        while callbacks:  # a callback may queue more
            callbacks.pop(0)()
    finally:
        grad_mode._state.enabled = prev_mode
        _final.callbacks = prev_callbacks

    if inputs is None:
        return None
    if not allow_unused:
        for i, r in enumerate(results):
            if r is None:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have "
                                   "been used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
    return tuple(results)


def _discover(root_nodes, want_parents: bool):
    """Count, for every node reachable from the roots, the edges that feed it (its deps); with
    ``want_parents`` also map each node to the nodes feeding it."""
    deps: dict = {}
    parents: dict | None = {} if want_parents else None
    seen = set(root_nodes)
    stack = list(root_nodes)
    while stack:
        n = stack.pop()
        for e in n._edges:
            if e is None:
                continue
            c = e[0]
            deps[c] = deps.get(c, 0) + 1
            if parents is not None:
                parents.setdefault(c, []).append(n)
            if c not in seen:
                seen.add(c)
                stack.append(c)
    return deps, parents


def _reaching(parents: dict, capture: dict) -> set:
    """Nodes from which some captured node is reachable (those included)."""
    stack = [node for node, _ in capture]
    needed = set(stack)
    while stack:
        for p in parents.get(stack.pop(), ()):
            if p not in needed:
                needed.add(p)
                stack.append(p)
    return needed


def _run_hooks(pre_hooks: dict, buf: list) -> None:
    for nr, hooks in pre_hooks.items():
        for h in hooks:
            if buf[nr] is not None:
                out = h(buf[nr])
                if out is not None:
                    buf[nr] = out


def _check_count(node, in_grads: tuple, n: int) -> tuple:
    """torch's rule: a backward may return extra gradients only if they are all None."""
    if len(in_grads) > n and all(g is None for g in in_grads[n:]):
        return in_grads[:n]
    raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                       f"(expected {n}, got {len(in_grads)})")


def _fit(node, i: int, g, edge):
    """Make a gradient fit its input's metadata: reduce a broadcast shape, cast the dtype."""
    data = g._data
    _, _, np_dtype, shape = edge
    if data.shape != shape:
        from ..ops._util import unbroadcast
        if not _expandable(shape, data.shape):
            raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index "
                               f"{i} - got {list(data.shape)} but expected shape compatible "
                               f"with {list(shape)}")
        g = unbroadcast(g, shape)
    if g._data.dtype != np_dtype:
        g = g.to(dt._FROM_NP[np_dtype])
    return g


def _expandable(shape: tuple, to: tuple) -> bool:
    if len(shape) > len(to):
        return False
    return all(s == t or s == 1 for s, t in zip(reversed(shape), reversed(to)))


def _zeros_for(node, nr):
    from ..backends import get_backend
    meta = node._out_meta[nr]
    if meta is None:  # a non-tensor output: nothing to materialize
        return None
    shape, np_dtype, device = meta
    with device_guard(device):
        arr = get_backend(device.type).xp.zeros(shape, dtype=np_dtype)
    return function.Tensor._make(arr, device)


def _device_of(buf):
    for g in buf:
        if g is not None:
            return getattr(g, "_device", None)
    return None


def _skip(node, deps, needed, buffers):
    """A node that received no gradient at all: release its children's dependency on it.

    Returns the children that became ready and hold gradients from other paths.
    """
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        for e in n._edges:
            if e is None or (needed is not None and e[0] not in needed):
                continue
            c = e[0]
            deps[c] -= 1
            if deps[c] == 0:
                (out if c in buffers else stack).append(c)
    return out


def _accumulate(t, g, create_graph: bool, owned: set) -> None:
    """Add ``g`` into ``t.grad`` (a leaf's, or a non-leaf's that called ``retain_grad``).

    Without ``create_graph`` the stored gradient is detached and never aliases an array that
    lives elsewhere (the caller's ``gradient=``, another tensor's ``.grad``, a view's base), and
    later gradients are added in place, as torch does.
    """
    old = t._grad
    if g.is_sparse or (old is not None and old.is_sparse):  # sparse grads: never in place
        g = g if old is None else old + g
        t._grad = g if create_graph else g.detach()
        return
    if create_graph:
        t._grad = g if old is None else old + g
        return
    arr = g._data
    if old is None:
        if id(arr) in owned or arr.base is not None:
            arr = arr.copy()
        owned.add(id(arr))
        t._grad = function.Tensor._make(arr, t._device)
    elif old._data.base is None and old._grad_fn is None:
        old._data += arr
        old._version.value += 1
    else:
        t._grad = function.Tensor._make(old._data + arr, t._device)
