"""``einsum``: torch's equation forms (``...``, implicit output, sublists) built from differentiable
tensor ops, so gradients (and double backward) come for free.

Each operand's repeated subscripts become ``diagonal`` views; subscripts needed nowhere else are
summed away early; every two-operand step is one batched matmul (batch, free-left, contracted,
free-right dims, reshaped to 3-D) so the cuda device runs the hand-written matmul kernel. For 3+
operands opt_einsum's ``contract_path`` picks the pairwise order (torch does the same).
"""
from __future__ import annotations

import math

from ..tensor import Tensor
from .linalg import Matmul, same_dtype

_ELL = -1  # marks "..." in a parsed term
_N_LETTERS = 52  # 'A'-'Z' are labels 0-25, 'a'-'z' 26-51 (torch's sublist numbering); then "..."


def _letter(c: str) -> int:
    return ord(c) - ord("A") if c <= "Z" else ord(c) - ord("a") + 26


def _parse_term(term: str, offset: int, who: str) -> list:
    """Labels of one comma-separated term (``_ELL`` for an ellipsis)."""
    labels, i = [], 0
    while i < len(term):
        c = term[i]
        if c == ".":
            if _ELL in labels:
                raise RuntimeError(f"einsum(): found '.' for {who} for which an ellipsis was "
                                   f"already found")
            if term[i:i + 3] != "...":
                tail = " (...)" if who == "output" else ""
                raise RuntimeError(f"einsum(): found '.' for {who} that is not part of any "
                                   f"ellipsis{tail}")
            labels.append(_ELL)
            i += 3
            continue
        if c != " ":
            if not (c.isascii() and c.isalpha()):
                raise RuntimeError(f"einsum(): invalid subscript given at index {offset + i} in "
                                   f"the equation string, subscripts must be in [a-zA-Z]")
            labels.append(_letter(c))
        i += 1
    return labels


def _sublist_terms(args: tuple) -> tuple:
    """einsum(op0, sub0, op1, sub1, ..., [out]): sublists of ints in [0, 52) and Ellipsis."""
    ops, terms = list(args[0::2]), []
    out = None
    if len(args) % 2 == 1:
        out, ops = args[-1], ops[:-1]
    for sub in list(args[1::2]) + ([out] if out is not None else []):
        term = []
        for s in sub:
            if s is Ellipsis:
                term.append(_ELL)
            elif not isinstance(s, int) or not 0 <= s < _N_LETTERS:
                raise ValueError("einsum(): subscript in subscript list is not within the valid "
                                 "range [0, 52)")
            else:
                term.append(s)
        terms.append(term)
    return ops, terms[:len(ops)], (terms[-1] if out is not None else None)


def _parse(equation: str, n_ops: int) -> tuple:
    arrow = equation.find("->")
    lhs = equation if arrow < 0 else equation[:arrow]
    terms, pos = [], 0
    for k, term in enumerate(lhs.split(",")):
        terms.append(_parse_term(term, pos, f"operand {k}"))
        pos += len(term) + 1
    out = None if arrow < 0 else _parse_term(equation[arrow + 2:], arrow + 2, "output")
    if len(terms) > n_ops:
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < n_ops:
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    return terms, out


def _expand(terms: list, ops: list, out) -> tuple:
    """Replace "..." by labels 52, 53, ... (right-aligned across operands), check sizes, and
    build the output labels (implicit: "..." then the once-seen letters in order)."""
    n_ell = 0
    for k, (term, t) in enumerate(zip(terms, ops)):
        n = len(term) - (_ELL in term)
        if _ELL not in term and n != t.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) does not "
                               f"match the number of dimensions ({t.ndim}) for operand {k} and no "
                               f"ellipsis was given")
        if _ELL in term:
            if n > t.ndim:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) is "
                                   f"more than the number of dimensions ({t.ndim}) for operand {k}")
            n_ell = max(n_ell, t.ndim - n)
    ell = list(range(_N_LETTERS, _N_LETTERS + n_ell))
    full, sizes = [], {}
    for k, (term, t) in enumerate(zip(terms, ops)):
        at = term.index(_ELL) if _ELL in term else 0
        if _ELL in term:
            m = t.ndim - (len(term) - 1)
            term = term[:at] + ell[n_ell - m:] + term[at + 1:]
        seen = {}
        for d, (lab, s) in enumerate(zip(term, t.shape)):
            if lab in seen and seen[lab] != s:
                raise RuntimeError(f"einsum(): subscript {_name(lab)} is repeated for operand {k} "
                                   f"but the sizes don't match, {s} != {seen[lab]}")
            seen[lab] = s
            prev = sizes.get(lab, 1)
            if s != prev and s != 1 and prev != 1:
                if lab >= _N_LETTERS:
                    raise RuntimeError(
                        f"einsum(): dimension {d - at} covered by "
                        f"ellipsis in operand {k}has size {s} which does not broadcast with "
                        f"previously seen ellipsis with size {prev} for the respective dimension")
                raise RuntimeError(f"einsum(): subscript {_name(lab)} has size {s} for operand {k} "
                                   f"which does not broadcast with previously seen size {prev}")
            sizes[lab] = max(prev, s) if s != 0 and prev != 0 else 0
        full.append(term)
    if out is None:
        counts = {}
        for term in full:
            for lab in term:
                counts[lab] = counts.get(lab, 0) + 1
        out = ell + sorted(lab for lab, c in counts.items() if c == 1 and lab < _N_LETTERS)
    else:
        present = {lab for term in full for lab in term}
        res = []
        for lab in out:
            if lab == _ELL:
                res.extend(ell)
                continue
            if lab not in present:
                raise RuntimeError(f"einsum(): output subscript {_name(lab)} does not appear in "
                                   f"the equation for any input operand")
            if lab in res:
                raise RuntimeError(f"einsum(): output subscript {_name(lab)} appears more than "
                                   f"once in the output")
            res.append(lab)
        out = res
    return full, out, sizes


def _name(lab: int) -> str:
    return chr(ord("A") + lab) if lab < 26 else chr(ord("a") + lab - 26)


def _diagonals(t: Tensor, labels: list) -> tuple:
    """Take the diagonal of every repeated subscript (a view; its dim goes last)."""
    while len(set(labels)) != len(labels):
        p = next(i for i, lab in enumerate(labels) if labels.index(lab) != i)
        q = labels.index(labels[p])
        t = t.diagonal(0, q, p)
        labels = [lab for i, lab in enumerate(labels) if i not in (p, q)] + [labels[p]]
    return t, labels


def _sum_out(t: Tensor, labels: list, keep: set) -> tuple:
    dims = [i for i, lab in enumerate(labels) if lab not in keep]
    if not dims:
        return t, labels
    t = t.sum(dim=dims)  # integers accumulate in int64, as torch's einsum does
    return t, [lab for lab in labels if lab in keep]


def _squeeze_broadcast(a: Tensor, la: list, b: Tensor, lb: list) -> tuple:
    """A subscript of size 1 in one operand and n in the other is constant along it there:
    drop it from that operand (it then only lives in the other)."""
    for lab in [x for x in la if x in lb]:
        sa, sb = a.shape[la.index(lab)], b.shape[lb.index(lab)]
        if sa == 1 and sb != 1:
            a, la = a.squeeze(la.index(lab)), [x for x in la if x != lab]
        elif sb == 1 and sa != 1:
            b, lb = b.squeeze(lb.index(lab)), [x for x in lb if x != lab]
    return a, la, b, lb


def _permute(t: Tensor, labels: list, order: list) -> Tensor:
    perm = [labels.index(lab) for lab in order]
    return t if perm == list(range(len(perm))) else t.permute(*perm)


def _contract(a: Tensor, la: list, b: Tensor, lb: list, keep: set) -> tuple:
    """One pairwise step: the result keeps ``keep``'s subscripts that a or b hold."""
    a, la, b, lb = _squeeze_broadcast(a, la, b, lb)
    a, la = _sum_out(a, la, keep | set(lb))
    b, lb = _sum_out(b, lb, keep | set(la))
    batch = [x for x in la if x in lb and x in keep]
    con = [x for x in la if x in lb and x not in keep]
    fa = [x for x in la if x not in lb]
    fb = [x for x in lb if x not in la]
    size = dict(zip(la, a.shape)) | dict(zip(lb, b.shape))
    bs, fas, fbs = ([size[x] for x in g] for g in (batch, fa, fb))
    if not con:  # no contraction: a broadcast product (outer, Hadamard)
        ap = _permute(a, la, batch + fa).reshape(tuple(bs + fas + [1] * len(fb)))
        bp = _permute(b, lb, batch + fb).reshape(tuple(bs + [1] * len(fa) + fbs))
        return ap * bp, batch + fa + fb
    k = math.prod(size[x] for x in con)
    shape_a, shape_b = (math.prod(bs), math.prod(fas), k), (math.prod(bs), k, math.prod(fbs))
    if not batch:
        shape_a, shape_b = shape_a[1:], shape_b[1:]
    ap = _permute(a, la, batch + fa + con).reshape(shape_a)
    bp = _permute(b, lb, batch + con + fb).reshape(shape_b)
    out = Matmul.apply(ap, bp).reshape(tuple(bs + fas + fbs))
    return out, batch + fa + fb


def _path(ops: list, sizes: dict, out: list) -> list:
    """opt_einsum's pairwise order for 3+ operands (positions into a shrinking list)."""
    import opt_einsum
    sym = opt_einsum.get_symbol
    eq = ",".join("".join(sym(lab) for lab in la) for _, la in ops) + "->" + \
        "".join(sym(lab) for lab in out)
    shapes = [tuple(sizes[lab] for lab in la) for _, la in ops]
    path, _ = opt_einsum.contract_path(eq, *shapes, shapes=True, optimize="auto")
    return path


def einsum(*args) -> Tensor:
    """torch.einsum(equation, *operands) / (equation, [operands]) / (op, sublist, ..., [out])."""
    if not args or (isinstance(args[0], str) and len(args) == 1):
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                         "or at least one operand and its subscripts list")
    if isinstance(args[0], Tensor):
        ops, terms, out = _sublist_terms(args)
    elif not isinstance(args[0], str):
        raise TypeError(f"einsum(): argument 'equation' (position 1) must be str, not "
                        f"{type(args[0]).__name__}")
    else:
        ops = list(args[1]) if len(args) == 2 and isinstance(args[1], (list, tuple)) \
            else list(args[1:])
        terms, out = None, None
    for k, t in enumerate(ops):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {k} in argument 1, but got "
                            f"{type(t).__name__}")
    if not ops:
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                         "or at least one operand and its subscripts list")
    if terms is None:
        terms, out = _parse(args[0], len(ops))
    for t in ops[1:]:
        same_dtype(ops[0], t)
    full, out, sizes = _expand(terms, ops, out)
    work = [_diagonals(t, la) for t, la in zip(ops, full)]
    outset = set(out)
    if len(work) <= 2:
        path = [(0, 1)] if len(work) == 2 else []
    else:
        path = _path(work, sizes, out)
    for step in path:
        picked = [work[i] for i in step]
        work = [w for i, w in enumerate(work) if i not in step]
        rest = outset.union(*(set(la) for _, la in work))
        t, la = picked[0]
        if len(picked) == 1:
            t, la = _sum_out(t, la, rest)
        for j, (u, lu) in enumerate(picked[1:], 2):
            t, la = _contract(t, la, u, lu, rest.union(*(set(x) for _, x in picked[j:])))
        work.append((t, la))
    t, la = work[0]
    t, la = _sum_out(t, la, outset)
    return _permute(t, la, out)


__all__ = ["einsum"]
