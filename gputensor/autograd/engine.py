"""The backward pass: an iterative walk of the graph in dependency order.

No recursion (a chain of 100,000 ops backpropagates), gradients summed per node output before the
node runs, saved tensors freed after use unless ``retain_graph``. With ``inputs`` given (as
``autograd.grad`` does) only the part of the graph leading to them runs and their gradients are
returned instead of accumulated.
"""
from __future__ import annotations

from . import grad_mode
from .function import AccumulateGrad, accumulator_of


def _root_edge(t):
    if not t.requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    if t._grad_fn is None:
        return accumulator_of(t), 0
    return t._grad_fn, t._output_nr


def run_backward(roots, grads, retain_graph: bool = False, create_graph: bool = False,
                 inputs=None, allow_unused: bool = False):
    """Backpropagate ``grads`` from ``roots``.

    Without ``inputs``: accumulate into leaves' ``.grad``. With ``inputs``: return their gradients
    (None for unused ones when ``allow_unused``) and touch no ``.grad``.
    """
    # Where each wanted gradient is read: (node, output_nr) -> index into ``inputs``.
    capture = None
    if inputs is not None:
        capture = {}
        for i, t in enumerate(inputs):
            if not t.requires_grad:
                raise RuntimeError(f"autograd.grad: input {i} does not require grad")
            key = (accumulator_of(t), 0) if t._grad_fn is None else (t._grad_fn, t._output_nr)
            capture.setdefault(key, []).append(i)

    buffers: dict = {}
    root_nodes = []
    stolen = set()
    for r, g in zip(roots, grads):
        node, nr = _root_edge(r)
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * _n_out(node)
            root_nodes.append(node)
        buf[nr] = g if buf[nr] is None else buf[nr] + g
        stolen.add(id(g))

    # Discover the graph (iteratively), then keep only nodes that lead somewhere useful.
    children: dict = {}
    stack = list(root_nodes)
    seen = set(root_nodes)
    while stack:
        n = stack.pop()
        kids = [e[0] for e in n.next_functions if e is not None]
        children[n] = kids
        for c in kids:
            if c not in seen:
                seen.add(c)
                stack.append(c)
    if capture is not None:
        targets = {node for node, _ in capture}
        needed = _nodes_reaching(children, targets)
    else:
        needed = seen
    deps: dict = {}
    for n in needed:
        for c in children[n]:
            if c in needed:
                deps[c] = deps.get(c, 0) + 1

    results = [None] * len(inputs) if inputs is not None else None
    ready = [n for n in root_nodes if n in needed and deps.get(n, 0) == 0]
    prev_mode = grad_mode.is_grad_enabled()
    grad_mode._set(create_graph)
    try:
        while ready:
            node = ready.pop()
            buf = buffers.pop(node)
            if node._pre_hooks:
                for nr, hooks in node._pre_hooks.items():
                    for h in hooks:
                        if buf[nr] is not None:
                            out = h(buf[nr])
                            if out is not None:
                                buf[nr] = out
            if capture is not None:
                for nr in range(len(buf)):
                    for i in capture.get((node, nr), ()):
                        results[i] = buf[nr]
            if isinstance(node, AccumulateGrad):
                if capture is None and buf[0] is not None:
                    _accumulate(node.variable, buf[0], create_graph, stolen)
                continue
            if node._retained:
                for nr, ref in node._retained.items():
                    t = ref()
                    if t is not None and buf[nr] is not None:
                        t.grad = buf[nr] if create_graph else buf[nr].detach()
            if node.materialize_grads:
                for nr, g in enumerate(buf):
                    if g is None:
                        buf[nr] = _zeros_for(node, nr)
            in_grads = node.apply(*buf)
            if not retain_graph:
                node.release()
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            edges = node.next_functions
            if len(in_grads) < len(edges):
                raise RuntimeError(f"function {node.name()} returned an incorrect number of "
                                   f"gradients (expected {len(edges)}, got {len(in_grads)})")
            for edge, g in zip(edges, in_grads):
                if edge is None:
                    continue
                child, nr, dt = edge
                if child not in needed:
                    continue
                if g is not None:
                    if g._data.dtype != dt.np:
                        g = g.to(dt)
                    cb = buffers.get(child)
                    if cb is None:
                        cb = buffers[child] = [None] * _n_out(child)
                    cb[nr] = g if cb[nr] is None else cb[nr] + g
                left = deps[child] - 1
                deps[child] = left
                if left == 0:
                    if child in buffers:
                        ready.append(child)
                    else:  # every path into it gave None: its own inputs get nothing either
                        ready.extend(_skip(child, deps, needed, buffers))
    finally:
        grad_mode._set(prev_mode)

    if inputs is not None:
        for i, r in enumerate(results):
            if r is None and not allow_unused:
                raise RuntimeError(f"One of the differentiated Tensors (input {i}) appears to not "
                                   "have been used in the graph. Set allow_unused=True if this "
                                   "is the desired behavior.")
        return tuple(results)
    return None


def _n_out(node) -> int:
    return 1 if isinstance(node, AccumulateGrad) else node._n_outputs


def _zeros_for(node, nr):
    from ..tensor import Tensor
    shape, np_dtype, device = node._out_meta[nr]
    from ..backends import get_backend
    b = get_backend(device.type)
    return Tensor._make(b.xp.zeros(shape, dtype=np_dtype), device)


def _skip(node, deps, needed, buffers):
    """A node that received no gradient at all: release its children's dependency on it.

    Returns the children that became ready and hold gradients from other paths.
    """
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        for e in n.next_functions:
            if e is None or e[0] not in needed:
                continue
            c = e[0]
            deps[c] -= 1
            if deps[c] == 0:
                (out if c in buffers else stack).append(c)
    return out


def _nodes_reaching(children, targets) -> set:
    """Nodes from which some target is reachable (targets included)."""
    parents: dict = {}
    for n, kids in children.items():
        for c in kids:
            parents.setdefault(c, []).append(n)
    needed = set()
    stack = [t for t in targets if t in children or t in parents]
    needed.update(stack)
    while stack:
        n = stack.pop()
        for p in parents.get(n, ()):
            if p not in needed:
                needed.add(p)
                stack.append(p)
    return needed


def _accumulate(leaf, g, create_graph: bool, stolen: set) -> None:
    if g.shape != leaf.shape:
        raise RuntimeError(f"gradient of shape {tuple(g.shape)} does not match leaf of shape "
                           f"{tuple(leaf.shape)}")
    for h in leaf._hooks or ():
        out = h(g)
        if out is not None:
            g = out
    if leaf.grad is None:
        if create_graph:
            leaf.grad = g
        else:
            g = g.detach()
            if id(g) in stolen or g._data.base is not None:
                g = g.clone()
            leaf.grad = g
    elif create_graph:
        leaf.grad = leaf.grad + g
    else:
        from ..tensor import Tensor
        leaf.grad = Tensor._make(leaf.grad._data + g._data, leaf.grad._device)
    stolen.add(id(leaf.grad))
