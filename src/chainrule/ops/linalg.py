"""Products (matmul, einsum and the composites dot, outer, tensordot) and `cr.linalg`."""

from __future__ import annotations

import functools
import math
import string

import numpy as np

from ..core import bind
from ._define import EMPTY, as_tensor, axis_index, bind_tensors, coerce, constant, defop, shared
from .elementwise import safe_divide
from .reduce import sum as _sum
from .shape import Variadic, example_ndim, lead_ones, moveaxis, permute, reshape, sum_to, swapaxes

# ----- matmul -------------------------------------------------------------------------

def _matmul_shapes_error(a, b):
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    return ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align: {ka} != {kb} "
                      f"(axis -1 of the first, axis {-2 if b.ndim > 1 else 0} of the second)")


def _mT(x):
    """x with its last two axes swapped (a rule's operand: no checks needed)."""
    n = x.ndim
    return permute(x, (*range(n - 2), n - 1, n - 2))


def _mm(a, b):
    """a @ b for a rule's operands, whose shapes are known to align (no checks)."""
    return bind_tensors(matmul_p, (a, b), EMPTY)


def _matmul_vjp_a(g, ans, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return g * b
    if b.ndim == 1:                                     # (..., m, k) @ (k,) -> (..., m)
        return sum_to(reshape(g, g.shape + (1,)) * b, a.shape)
    if a.ndim == 1:                                     # (k,) @ (..., k, n) -> (..., n)
        return sum_to(matmul(reshape(g, g.shape[:-1] + (1, g.shape[-1])), _mT(b)),
                      (1,) * (b.ndim - 1) + a.shape).reshape(a.shape)
    return sum_to(_mm(g, _mT(b)), a.shape)


def _matmul_vjp_b(g, ans, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return g * a
    if a.ndim == 1:                                     # (k,) @ (..., k, n)
        return sum_to(reshape(a, (a.shape[0], 1)) * reshape(g, g.shape[:-1] + (1, g.shape[-1])),
                      b.shape)
    if b.ndim == 1:                                     # (..., m, k) @ (k,)
        return sum_to(matmul(_mT(a), reshape(g, g.shape + (1,))),
                      (1,) * (a.ndim - 2) + b.shape + (1,)).reshape(b.shape)
    return sum_to(_mm(_mT(a), g), b.shape)


def matmul_batch(size, op, vals, batched, params):
    (a, b), (ba, bb) = vals, batched
    # Vectors become a (1, k) row and a (k, 1) column; their unit axis is dropped after.
    a_vec, b_vec = example_ndim(a, ba) == 1, example_ndim(b, bb) == 1
    if a_vec:
        a = reshape(a, a.shape[:-1] + (1, a.shape[-1]))
    if b_vec:
        b = reshape(b, b.shape + (1,))
    if ba != bb and (b if ba else a).ndim == 2:
        out = _matmul_by_matrix(op, a, b, ba)
    else:
        rank = max(example_ndim(a, ba), example_ndim(b, bb))
        out = bind(op, (lead_ones(a, ba, rank), lead_ones(b, bb, rank)), {})
    drop = {out.ndim - 2} if a_vec else set()
    if b_vec:
        drop.add(out.ndim - 1)
    if drop:
        out = reshape(out, tuple(n for i, n in enumerate(out.shape) if i not in drop))
    return out


def _count(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _matmul_by_matrix(op, a, b, a_batched):
    """A batch of matrices times one matrix as a single GEMM (NumPy would loop the batch)."""
    # Sizes are spelled out, not -1: with a zero-size axis -1 would be ambiguous.
    if a_batched:                                    # (B, ..., m, k) @ (k, n)
        out = bind(op, (reshape(a, (_count(a.shape[:-1]), a.shape[-1])), b), {})
        return reshape(out, a.shape[:-1] + (b.shape[-1],))
    m, k = a.shape
    if b.shape[-1] == 1:                             # (m, k) @ (B, ..., k, 1): rows @ a.T
        out = bind(op, (reshape(b, (_count(b.shape[:-2]), k)), swapaxes(a, 0, 1)), {})
        return reshape(out, b.shape[:-2] + (m, 1))
    cols = reshape(moveaxis(b, -2, 0),                # (m, k) @ (k, B * ... * n)
                   (k, _count(b.shape[:-2]) * b.shape[-1]))
    out = reshape(bind(op, (a, cols), {}), (m,) + b.shape[:-2] + (b.shape[-1],))
    return moveaxis(out, 0, -2)


matmul_p = defop(
    "matmul", np.matmul, nin=2, vjp=(_matmul_vjp_a, _matmul_vjp_b),
    jvp=(lambda t, ans, a, b: _mm(t, b), lambda t, ans, a, b: _mm(a, t)), batch=matmul_batch)


def matmul(a, b):
    """`np.matmul` (the `@` operator) of 1-D, 2-D or batched operands."""
    a, b = coerce((a, b))
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands need at least one dim, got shapes {a.shape} and "
                         f"{b.shape}; use * for scalars")
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if a.shape[-1] != kb:
        raise _matmul_shapes_error(a, b)
    return bind_tensors(matmul_p, (a, b), {})


# ----- einsum -------------------------------------------------------------------------

def _parse_einsum(subscripts: str, shapes):
    """Explicit subscripts ('ij,jk->ik') with '...' expanded into letters."""
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        ins, out = subscripts.split("->")
    else:
        ins, out = subscripts, None
    terms = ins.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: '{subscripts}' names {len(terms)} operands, "
                         f"got {len(shapes)}")
    used = set(subscripts)
    spare = [c for c in string.ascii_letters if c not in used]
    ell_ndim = max((len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes)
                    if "..." in t), default=0)
    ell = "".join(spare[:ell_ndim])
    fixed = []
    for t, s in zip(terms, shapes):
        if "..." in t:
            n = len(s) - len(t.replace("...", ""))
            t = t.replace("...", ell[ell_ndim - n:] if n else "")
        if len(t) != len(s):
            raise ValueError(f"einsum: subscript '{t}' has {len(t)} letters for an operand "
                             f"of shape {s}")
        fixed.append(t)
    if out is None:
        counts = {}
        for t in fixed:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    return fixed, out


@functools.lru_cache(maxsize=1024)
def _einsum_vjp_spec(i: int, terms: tuple, out: str):
    """Operand i's cotangent as one einsum: its subscripts, and the constants it needs
    after g and the other operands (("eye", c): a diagonal letter c, ("ones", c): c summed
    inside operand i); worked out once per contraction."""
    target = terms[i]
    specs = [out] + [t for j, t in enumerate(terms) if j != i]
    extras = []
    # A letter repeated within operand i (a diagonal) gets a fresh letter tied by an eye.
    spare = iter(c for c in string.ascii_letters if c not in "".join(terms) + out)
    result, seen = "", set()
    for c in target:
        if c in seen:
            fresh = next(spare)
            extras.append(("eye", c))
            specs.append(c + fresh)
            result += fresh
        else:
            seen.add(c)
            result += c
    # A letter only operand i has (summed away inside it) is broadcast back with ones.
    present = set("".join(specs))
    for c in sorted(seen - present):
        extras.append(("ones", c))
        specs.append(c)
    return ",".join(specs) + "->" + result, tuple(extras)


def _einsum_vjp(i, g, ans, *xs, terms, out):
    """Cotangent of operand i: contract g with the other operands onto operand i's letters."""
    subscripts, extras = _einsum_vjp_spec(i, terms, out)
    operands = [g, *xs[:i], *xs[i + 1:]]
    if extras:
        sizes = {c: n for t, x in zip(terms, xs) for c, n in zip(t, x.shape)}
        operands += [constant(np.eye(sizes[c], dtype=g.dtype) if kind == "eye"
                              else np.ones(sizes[c], dtype=g.dtype)) for kind, c in extras]
    return einsum(subscripts, *operands)


def _einsum_jvp(tangents, ans, *xs, terms, out):
    total = None
    for i, t in enumerate(tangents):
        if t is not None:
            ops = list(xs)
            ops[i] = t
            term = einsum(",".join(terms) + "->" + out, *ops)
            total = term if total is None else total + term
    return total


def _einsum_batch(size, op, vals, batched, params):
    terms, out = params["terms"], params["out"]
    letter = next(c for c in string.ascii_letters if c not in "".join(terms) + out)
    terms = tuple(letter + t if b else t for t, b in zip(terms, batched))
    return bind(op, tuple(vals), {"terms": terms, "out": letter + out})


@functools.lru_cache(maxsize=1024)
def _gemm_plan(terms, out, shapes):
    """How a two-operand contraction without batch letters is one GEMM (what np.tensordot
    does): (axes of a, its (M, K) shape, axes of b, its (K, N) shape, the product's shape
    before the last transpose, that transpose); None for other contractions."""
    (ta, tb), (sa, sb) = terms, shapes
    if len(set(ta)) != len(ta) or len(set(tb)) != len(tb) or len(set(out)) != len(out) or \
            set(ta) & set(tb) & set(out) or (set(ta) ^ set(tb)) - set(out):
        return None  # diagonals, batch letters or letters summed inside one operand
    size = dict(zip(ta, sa)) | dict(zip(tb, sb))
    summed = [c for c in ta if c in tb]
    keep_a, keep_b = [c for c in ta if c not in tb], [c for c in tb if c not in ta]
    m, k, n = (math.prod(size[c] for c in cs) for cs in (keep_a, summed, keep_b))
    mid = keep_a + keep_b
    return (tuple(ta.index(c) for c in keep_a + summed), (m, k),
            tuple(tb.index(c) for c in summed + keep_b), (k, n),
            tuple(size[c] for c in mid), tuple(mid.index(c) for c in out))


def _einsum_gemm(a, b, terms, out):
    """a, b contracted by one matmul when that is what einsum computes; None otherwise."""
    plan = _gemm_plan(terms, out, (a.shape, b.shape))   # worked out once per shapes
    if plan is None:
        return None
    perm_a, shape_a, perm_b, shape_b, shape_mid, perm_out = plan
    product = np.matmul(a.transpose(perm_a).reshape(shape_a),
                        b.transpose(perm_b).reshape(shape_b))
    return product.reshape(shape_mid).transpose(perm_out)


def _einsum_impl(*xs, terms, out):
    # A two-operand contraction is one BLAS GEMM (plain np.einsum loops in C: 4x slower at
    # 32 x 32, 4.5x at 1000 x 1000), with its layout worked out once per shapes.
    if len(xs) == 2 and xs[0].dtype.kind in "fc" and xs[1].dtype.kind in "fc":
        product = _einsum_gemm(xs[0], xs[1], terms, out)
        if product is not None:
            return product
    # optimize=True lets NumPy hand contractions to BLAS; its path search costs ~10 us,
    # which only pays once the operands hold a few thousand entries.
    big = len(xs) > 2 or sum(x.size for x in xs) > 2048
    return np.einsum(",".join(terms) + "->" + out, *xs, optimize=big)


einsum_p = defop(
    "einsum", _einsum_impl,
    vjp=Variadic(_einsum_vjp), jvp_joint=_einsum_jvp, nin=2, batch=_einsum_batch)


def _sublists_to_subscripts(args):
    """einsum(op0, sublist0, op1, sublist1, ..., [out]) as (subscripts, operands)."""
    args = list(args)
    out = args.pop() if len(args) % 2 else None
    operands, sublists = args[0::2], args[1::2]
    letters = {}

    def spell(sublist):
        text = ""
        for k in sublist:
            if k is Ellipsis:
                text += "..."
                continue
            if not isinstance(k, int) or not 0 <= k < 52:
                raise ValueError(f"einsum: sublist entries must be ints in [0, 52) or "
                                 f"Ellipsis, got {k!r}")
            text += letters.setdefault(k, string.ascii_letters[k])
        return text

    subscripts = ",".join(spell(s) for s in sublists)
    if out is None:  # NumPy's implicit output: the labels seen once, in increasing order
        labels = [k for s in sublists for k in s]
        out = [Ellipsis] * (Ellipsis in labels) + sorted(
            k for k in set(labels) if k is not Ellipsis and labels.count(k) == 1)
    subscripts += "->" + spell(out)
    return subscripts, operands


def einsum(subscripts, *operands):
    """`np.einsum` with explicit or implicit output, '...', and repeated letters ('ii->i');
    also the sublist form `einsum(x, [0, 1], y, [1, 2], [0, 2])`."""
    if not isinstance(subscripts, str):
        subscripts, operands = _sublists_to_subscripts((subscripts, *operands))
    xs = coerce(operands)
    terms, out = _einsum_spec(subscripts, tuple(x.shape for x in xs))
    return bind_tensors(einsum_p, xs, {"terms": terms, "out": out})


@functools.lru_cache(maxsize=1024)
def _einsum_spec(subscripts: str, shapes: tuple):
    """(terms, out) of checked subscripts for operands of these shapes; parsed once (the
    parse costs ~10 us, more than a small contraction)."""
    terms, out = _parse_einsum(subscripts, shapes)
    sizes = {}
    for t, shape in zip(terms, shapes):
        for c, n in zip(t, shape):
            if sizes.setdefault(c, n) != n:
                raise ValueError(f"einsum: letter '{c}' has length {sizes[c]} and {n} in "
                                 f"'{subscripts}' (shapes {list(shapes)})")
    return tuple(terms), out


def outer(a, b):
    """`np.outer` of the flattened inputs."""
    a, b = coerce((a, b))
    # a column times a row, as np.outer computes it (no einsum to set up)
    return reshape(a, (a.size, 1)) * reshape(b, (1, b.size))


def tensordot(a, b, axes=2):
    """`np.tensordot`."""
    a, b = coerce((a, b))
    if isinstance(axes, int):
        axes_a, axes_b = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        axes_a, axes_b = axes
        axes_a = [axes_a] if isinstance(axes_a, int) else list(axes_a)
        axes_b = [axes_b] if isinstance(axes_b, int) else list(axes_b)
    axes_a = [axis_index(x, a.ndim, "tensordot") for x in axes_a]
    axes_b = [axis_index(x, b.ndim, "tensordot") for x in axes_b]
    letters = iter(string.ascii_letters)
    ta = [next(letters) for _ in range(a.ndim)]
    tb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(axes_a, axes_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: axis {i} of {a.shape} and axis {j} of {b.shape} "
                             "differ in length")
        tb[j] = ta[i]
    out = [c for k, c in enumerate(ta) if k not in axes_a] + [
        c for k, c in enumerate(tb) if k not in axes_b]
    return einsum("".join(ta) + "," + "".join(tb) + "->" + "".join(out), a, b)


def dot(a, b):
    """`np.dot`."""
    a, b = coerce((a, b))
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if b.ndim <= 2:   # np.dot is np.matmul here (a's last axis against b's first or only)
        return matmul(a, b)
    return tensordot(a, b, axes=([-1], [-2]))


def vdot(a, b):
    """Dot product of the flattened inputs."""
    a, b = coerce((a, b))
    return dot(reshape(a, -1), reshape(b, -1))


# ----- cr.linalg ------------------------------------------------------------------------

def _leading_axes_batch(size, op, vals, batched, params):
    """inv, det: NumPy already maps them over leading axes."""
    return bind(op, (vals[0],), params)


inv_p = defop(
    "inv", np.linalg.inv,
    vjp=lambda g, ans, x: -matmul(_mT(ans), matmul(g, _mT(ans))),
    jvp=lambda t, ans, x: -matmul(ans, matmul(t, ans)), batch=_leading_axes_batch)


def inv(x):
    """Matrix inverse (batched over leading axes)."""
    x = as_tensor(x)
    _check_square("inv", x)
    return inv_p(x)


def _check_square(op, x):
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"linalg.{op}: needs square matrices (..., n, n), got shape {x.shape}")


def _expand2(x):
    return reshape(x, x.shape + (1, 1))


det_p = defop(
    "det", np.linalg.det,
    vjp=lambda g, ans, x: _expand2(g * ans) * _mT(inv(x)),
    jvp=lambda t, ans, x: ans * einsum("...ij,...ji->...", inv(x), t), batch=_leading_axes_batch)


def det(x):
    """Determinant (batched); its gradient needs an invertible matrix."""
    x = as_tensor(x)
    _check_square("det", x)
    return det_p(x)


def _solve_vector(a, v):
    """solve(a, v) for a stack of vectors v (..., n), however NumPy would read v's rank."""
    x = solve(a, reshape(v, v.shape + (1,)))
    return reshape(x, x.shape[:-1])


def _solve_grad_b(a, g, b_ndim):
    """solve(a^T, g) shaped like the right-hand side."""
    return _solve_vector(_mT(a), g) if b_ndim == 1 else solve(_mT(a), g)


def _solve_vjp_a(g, ans, a, b):
    # solve(a^T, g) is both inputs' work: done once, for b's rule as well
    gb = shared(ans, g, lambda: _solve_grad_b(a, g, b.ndim), done=not b.requires_grad)
    if b.ndim == 1:
        return sum_to(-reshape(gb, gb.shape + (1,)) * reshape(ans, ans.shape[:-1] + (1,)
                                                              + ans.shape[-1:]), a.shape)
    return sum_to(-matmul(gb, _mT(ans)), a.shape)


def _solve_vjp_b(g, ans, a, b):
    return sum_to(shared(ans, g, lambda: _solve_grad_b(a, g, b.ndim), done=True), b.shape)


def _solve_jvp(tangents, ans, a, b):
    ta, tb = tangents
    rhs = tb
    if ta is not None:
        prod = einsum("...ij,...j->...i", ta, ans) if b.ndim == 1 else matmul(ta, ans)
        rhs = -prod if rhs is None else rhs - prod
    return _solve_vector(a, rhs) if b.ndim == 1 else solve(a, rhs)


def _solve_batch(size, op, vals, batched, params):
    (a, b), (ba, bb) = vals, batched
    b_vec = example_ndim(b, bb) == 1
    if b_vec:
        b = reshape(b, b.shape + (1,))   # solve against one column, then drop it
    rank = max(example_ndim(a, ba), example_ndim(b, bb))
    out = bind(op, (lead_ones(a, ba, rank), lead_ones(b, bb, rank)), {})
    return reshape(out, out.shape[:-1]) if b_vec else out


solve_p = defop(
    "solve", np.linalg.solve, nin=2,
    vjp=(_solve_vjp_a, _solve_vjp_b),
    jvp_joint=_solve_jvp, batch=_solve_batch)


def solve(a, b):
    """Solve a @ x = b (NumPy 2 semantics: b is a vector only when 1-D)."""
    a, b = coerce((a, b))
    _check_square("solve", a)
    n = a.shape[-1]
    if (b.shape[0] if b.ndim == 1 else b.shape[-2]) != n:
        raise ValueError(f"linalg.solve: a of shape {a.shape} and b of shape {b.shape} do not "
                         f"align: b needs {n} rows")
    return solve_p(a, b)


def _norm_vjp(g, ans, x, axes, keepdims):
    if not keepdims:
        shape = tuple(1 if i in axes else s for i, s in enumerate(x.shape))
        g, ans = reshape(g, shape), reshape(ans, shape)
    # Divided on the small reduced shape, then one pass over x (not two wheres over x).
    return safe_divide(g, ans) * x


def _norm_jvp(t, ans, x, axes, keepdims):
    kept = ans
    if not keepdims:
        kept = reshape(ans, tuple(1 if i in axes else s for i, s in enumerate(x.shape)))
    out = safe_divide(_sum(t * x, axes, keepdims=True), kept)
    return out if keepdims else reshape(out, ans.shape)


norm2_p = defop(
    "norm", lambda x, axes, keepdims: np.sqrt(np.sum(x * x, axis=axes, keepdims=keepdims)),
    vjp=_norm_vjp, jvp=_norm_jvp, doc="Euclidean / Frobenius norm; gradient 0 at 0.", batch="axes")
