"""Function transforms: grad, value_and_grad, vjp, jvp, jacfwd, jacrev, jacobian, hessian, hvp.

Every call introduces its own variables: reverse transforms differentiate with respect to
a fresh identity node made for that call, forward transforms box tangents at a fresh
level. That is what keeps nested transforms free of perturbation confusion.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..core import (
    REVERSE,
    TensorBase,
    _new_tensor,
    active,
    bind,
    enable_grad,
    in_reverse,
    innermost_trace,
    new_level,
    no_grad,
)
from ..ops._define import EMPTY
from ..ops.shape import identity_p, reshape
from .batching import vmap
from .complex_guard import refuse_complex
from .forward import JVPBox, JVPTrace
from .reverse import grads_wrt
from .tree import flatten, has_containers, map_leaves, over_leaves, tree_flatten, tree_unflatten


def as_input(x, transform: str, position: int) -> TensorBase:
    """A transform's argument as a float tensor (Python and NumPy numbers accepted)."""
    if not isinstance(x, TensorBase):
        array = np.array(x)  # a copy: mutating the caller's array later changes nothing
        if array.dtype.kind not in "biufc":
            raise TypeError(f"{transform}: argument {position} is {type(x).__name__} "
                            f"(dtype {array.dtype}); pass a number, an array or a tensor")
        if array.dtype.kind in "biu":
            array = array.astype(np.float64)
        return _new_tensor(array)
    if x.dtype.kind not in "fc":
        raise TypeError(f"{transform}: argument {position} has dtype {x.dtype}; differentiate "
                        "with respect to a float or complex tensor (e.g. x.astype(np.float64))")
    return x


def _fresh_variable(x: TensorBase) -> TensorBase:
    """A new node standing for x, so that this call differentiates by it and nothing else.

    Inside a running forward transform the variable is first lifted to that transform's
    level (zero tangent), so the graph is recorded on the outermost boxes and the
    gradient carries the enclosing transform's perturbation.
    """
    top = innermost_trace()
    if top is not None and (x._trace is None or x._trace.level < top.level):
        x = top.lift(x)
    with enable_grad():
        y = bind(identity_p, (x,), EMPTY)
    y.requires_grad = True
    return y


def _trace_reverse(f, args, argnums, transform, kwargs=None):
    """Run f with fresh variables at `argnums`; returns (out, variables, nested)."""
    args = list(args)
    nested = in_reverse()
    variables = []
    for i in argnums:
        if i >= len(args):
            raise TypeError(f"{transform}: argnums names argument {i} but the function was "
                            f"called with {len(args)} arguments")
        x = as_input(args[i], transform, i)
        nested = nested or x.requires_grad
        args[i] = _fresh_variable(x)
        variables.append(args[i])
    with active(REVERSE), enable_grad():
        out = f(*args, **(kwargs or {}))
    return out, variables, nested


def _zeros_for(x):
    return _new_tensor(np.zeros(x.shape, dtype=x.dtype))


def _argnums(argnums):
    nums = (argnums,) if isinstance(argnums, numbers.Integral) else tuple(argnums)
    if len(set(nums)) != len(nums) or not all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in nums):
        raise ValueError(f"argnums must be distinct argument positions, got {argnums!r}")
    return nums


def _check_complex_inputs(variables, holomorphic, transform="grad"):
    """holomorphic=True needs complex inputs (see docs/complex.md for the convention)."""
    if holomorphic:
        for i, x in enumerate(variables):
            if x.dtype.kind != "c":
                raise TypeError(f"{transform}: holomorphic=True needs complex inputs, argument "
                                f"{i} has dtype {x.dtype}; pass x.astype(np.complex128)")


def _refuse_complex_output(out, holomorphic, transform="grad"):
    """A complex output has no gradient (no reverse Jacobian) unless f is holomorphic."""
    if not holomorphic and out.dtype.kind == "c":
        raise TypeError(f"{transform}: f returned a complex value, which has no gradient; "
                        "return a real number (cr.real(z), cr.abs(z)), or pass "
                        "holomorphic=True if f is holomorphic (complex-differentiable) to get "
                        "f'(z)")


def _check_complex(out, variables, holomorphic):
    """grad of a complex output needs holomorphic=True (then complex inputs)."""
    _check_complex_inputs(variables, holomorphic)
    if holomorphic:
        _check_complex_outputs(out, "grad")   # JAX refuses a real f here too
    _refuse_complex_output(out, holomorphic)


def value_and_grad(f, argnums=0, has_aux=False, holomorphic=False):
    """f's value and its gradient with respect to the arguments at `argnums`.

    For complex inputs the gradient follows JAX's convention (docs/complex.md); with
    holomorphic=True, f may return a complex value and the result is f'(z).
    """
    nums = _argnums(argnums)

    def wrapped(*args, **kwargs):
        if has_containers(args[i] for i in nums if i < len(args)):
            # Pytree arguments: differentiate by their leaves, give each gradient the shape
            # of its argument (tuples, lists, dicts, as JAX does).
            f_leaves, leaves, regroup = over_leaves(f, args, nums, "grad")
            value, grads = value_and_grad(f_leaves, tuple(range(len(leaves))), has_aux,
                                          holomorphic)(*leaves, **kwargs)
            grads = regroup(grads)
            return value, grads[0] if isinstance(argnums, numbers.Integral) else grads
        out, variables, nested = _trace_reverse(f, args, nums, "grad", kwargs)
        aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError("grad: has_aux=True needs f to return (value, aux)")
            out, aux = out
        if isinstance(out, (numbers.Number, np.ndarray)) and np.size(out) == 1:
            out = flatten(out, "grad")[0][0]   # a constant: its gradient is 0, as vjp's is
        if not isinstance(out, TensorBase) or out.size != 1:
            shape = getattr(out, "shape", type(out).__name__)
            raise TypeError(f"grad: f must return a scalar tensor, got {shape}; use cr.vjp "
                            "or cr.jacobian for non-scalar outputs")
        _check_complex(out, variables, holomorphic)
        if out.dtype.kind not in "fc":
            raise TypeError(f"grad: f returned a {out.dtype} tensor, which has no derivative "
                            "(argmax, argmin, nonzero, comparisons and casts to integers are "
                            "not differentiable); return a float value")
        seed = _new_tensor(np.ones(out.shape, dtype=out.dtype))
        grads = grads_wrt([out], [seed], variables, create_graph=nested, retain_graph=nested)
        grads = tuple(g if g is not None else _zeros_for(x) for g, x in zip(grads, variables))
        result = grads[0] if isinstance(argnums, numbers.Integral) else grads
        value = out if nested else _detached(out)
        return ((value, aux), result) if has_aux else (value, result)

    return wrapped


def grad(f, argnums=0, has_aux=False, holomorphic=False):
    """The gradient of a scalar function: a function returning d f / d args[argnums]."""
    value_and_grad_f = value_and_grad(f, argnums, has_aux, holomorphic)

    def wrapped(*args, **kwargs):
        value, result = value_and_grad_f(*args, **kwargs)
        return (result, value[1]) if has_aux else result

    return wrapped


def _detached(t):
    if t._trace is not None or not t.requires_grad:
        return t
    return _new_tensor(t.data)


def vjp(f, *primals, has_aux=False):
    """(f(*primals), vjp_fn): vjp_fn(cotangent) gives one cotangent per primal, as a tuple
    (each with its primal's pytree structure)."""
    if has_containers(primals):
        f_leaves, leaves, regroup = over_leaves(f, primals, range(len(primals)), "vjp")
        result = vjp(f_leaves, *leaves, has_aux=has_aux)
        leaf_fn = result[1]
        return (result[0], lambda *cts: regroup(leaf_fn(*cts))) + tuple(result[2:])
    out, variables, nested = _trace_reverse(f, primals, range(len(primals)), "vjp")
    aux = None
    if has_aux:
        out, aux = out
    leaves, _ = flatten(out, "vjp")

    def vjp_fn(*cotangents):
        # One cotangent with the output's structure (or, for a tuple output, one per part).
        cts, _ = flatten(cotangents[0] if len(cotangents) == 1 else cotangents, "vjp")
        if len(cts) != len(leaves):
            raise ValueError(f"vjp: {len(cts)} cotangent arrays for an output of "
                             f"{len(leaves)}; give one cotangent shaped like the output")
        seeds = []
        for leaf, ct in zip(leaves, cts):
            if ct.shape != leaf.shape:
                raise ValueError(f"vjp: cotangent of shape {ct.shape} for an output of shape "
                                 f"{leaf.shape}; they must match")
            seeds.append(ct)
        grads = grads_wrt(leaves, seeds, variables,
                          create_graph=nested or in_reverse(), retain_graph=True)
        return tuple(g if g is not None else _zeros_for(x) for g, x in zip(grads, variables))

    result = out if nested else map_leaves(_detached, out)
    return (result, vjp_fn, aux) if has_aux else (result, vjp_fn)


def jvp(f, primals, tangents, has_aux=False):
    """(f(*primals), tangent of f along `tangents`), in one forward sweep."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    if has_containers(primals) or has_containers(tangents):
        f_leaves, leaves, _ = over_leaves(f, primals, range(len(primals)), "jvp")
        t_leaves, t_def = tree_flatten(tangents)
        if len(t_leaves) != len(leaves) or tree_flatten(primals)[1] != t_def:
            raise ValueError("jvp: the tangents must have the primals' structure")
        return jvp(f_leaves, leaves, t_leaves, has_aux=has_aux)
    trace = JVPTrace(new_level())
    boxed = []
    for i, (p, t) in enumerate(zip(primals, tangents)):
        p = as_input(p, "jvp", i)
        if not isinstance(t, TensorBase):
            t = np.asarray(t)
            if p.dtype.kind != "c":
                refuse_complex(t.dtype, "jvp", f"tangent {i} of a real primal")
            t = _new_tensor(t.astype(p.dtype, copy=False))
        if p.dtype.kind != "c":   # a real input moves along real directions only
            refuse_complex(t.dtype, "jvp", f"tangent {i} of a real primal")
        if t.shape != p.shape:
            raise ValueError(f"jvp: tangent {i} has shape {t.shape} but its primal has shape "
                             f"{p.shape}; they must match")
        boxed.append(JVPBox(trace, p, t))
    with active(trace):
        out = f(*boxed)
    aux = None
    if has_aux:
        out, aux = out
    primal_out = map_leaves(lambda o: o.primal if o._trace is trace else o, out)
    tangent_out = map_leaves(lambda o: o.tangent if o._trace is trace and o.tangent is not None
                             else _zeros_for(o), out)
    return (primal_out, tangent_out, aux) if has_aux else (primal_out, tangent_out)


# ----- Jacobians --------------------------------------------------------------------------
# One batched sweep per Jacobian: the identity basis rides through the rules on a batch
# axis (vmap), instead of one Python-level sweep per basis vector.

def _identity_basis(x):
    """The n standard basis vectors of x's space, stacked: shape (n, *x.shape)."""
    return _new_tensor(np.eye(x.size, dtype=x.dtype).reshape((x.size,) + x.shape))


def _with(args, i, value):
    a = list(args)
    a[i] = value
    return a


def _jac_fwd_one(f, args, i, holomorphic, transform):
    """Jacobian of f with respect to args[i]: one forward sweep carrying all n tangents."""
    x = as_input(args[i], transform, i)
    _check_complex_inputs((x,), holomorphic, transform)
    if not holomorphic and x.dtype.kind == "c":
        raise TypeError(f"{transform}: argument {i} is complex ({x.dtype}); a Jacobian by "
                        "complex inputs exists for holomorphic functions only: pass "
                        "holomorphic=True, or differentiate a non-holomorphic function by "
                        "the real and imaginary parts (cr.jvp takes complex tangents)")
    column = lambda t: jvp(lambda xi: f(*_with(args, i, xi)), (x,), (t,))[1]  # noqa: E731
    columns = vmap(column, out_axes=-1)(_identity_basis(x))
    if holomorphic:
        for leaf in flatten(columns, transform)[0]:
            _check_complex_outputs(leaf, transform)
    return map_leaves(lambda c: reshape(c, c.shape[:-1] + x.shape), columns)


def _check_complex_outputs(leaf, transform):
    if leaf.dtype.kind != "c":
        raise TypeError(f"{transform}: holomorphic=True needs complex outputs, f returned "
                        f"{leaf.dtype}; drop holomorphic=True for a real-valued f")


def jacfwd(f, argnums=0, holomorphic=False):
    """The Jacobian by forward mode (shape out.shape + in.shape): cheap for few inputs.

    JAX's layout, as `jacrev`'s: the output's structure, each leaf holding one block per
    argnum when `argnums` is a tuple (`J[output][argnum]`). Complex inputs need
    holomorphic=True (JAX's rule): the Jacobian is then f'(z)."""
    return _jacfwd(f, argnums, holomorphic, "jacfwd")


def _jacfwd(f, argnums, holomorphic, transform):
    nums = _argnums(argnums)

    def wrapped(*args):
        if has_containers(args[i] for i in nums if i < len(args)):
            return _jac_over_leaves(lambda g, a: _jacfwd(g, a, holomorphic, transform),
                                    f, args, nums, argnums)
        jacs = [_jac_fwd_one(f, args, i, holomorphic, transform) for i in nums]
        if isinstance(argnums, numbers.Integral):
            return jacs[0]
        per_arg = [flatten(j, transform) for j in jacs]
        rebuild = per_arg[0][1]
        blocks = [tuple(leaves[k] for leaves, _ in per_arg)
                  for k in range(len(per_arg[0][0]))]
        return rebuild(blocks)

    return wrapped


def jacrev(f, argnums=0, holomorphic=False):
    """The Jacobian by reverse mode (shape out.shape + in.shape): cheap for few outputs.

    A complex output needs holomorphic=True (then complex inputs), as `grad`'s does."""
    return _jacrev(f, argnums, holomorphic, "jacrev")


def _jacrev(f, argnums, holomorphic, transform):
    nums = _argnums(argnums)

    def wrapped(*args):
        if has_containers(args[i] for i in nums if i < len(args)):
            return _jac_over_leaves(lambda g, a: _jacrev(g, a, holomorphic, transform),
                                    f, args, nums, argnums)

        def f_sel(*xs):
            a = list(args)
            for i, x in zip(nums, xs):
                a[i] = x
            return f(*a)

        inputs = [as_input(args[i], transform, i) for i in nums]
        _check_complex_inputs(inputs, holomorphic, transform)
        out, vjp_fn = vjp(f_sel, *[args[i] for i in nums])
        leaves, rebuild = flatten(out, transform)
        for leaf in leaves:
            if holomorphic:
                _check_complex_outputs(leaf, transform)
            _refuse_complex_output(leaf, holomorphic, transform)
        per_leaf = []
        for k, leaf in enumerate(leaves):
            def row(e, k=k):  # one cotangent per output leaf: e on leaf k, zeros elsewhere
                cts = [e if j == k else _zeros_for(o) for j, o in enumerate(leaves)]
                return vjp_fn(tuple(cts) if len(leaves) > 1 else cts[0])
            rows = vmap(row)(_identity_basis(leaf))
            jac = tuple(reshape(r, leaf.shape + x.shape) for r, x in zip(rows, inputs))
            per_leaf.append(jac[0] if isinstance(argnums, numbers.Integral) else jac)
        return rebuild(per_leaf)

    return wrapped


def _jac_over_leaves(jac, f, args, nums, argnums):
    """A Jacobian by pytree arguments: by their leaves, then each output leaf's blocks
    regrouped into the arguments' structures (J[output][argnum], argnum a pytree)."""
    f_leaves, leaves, regroup = over_leaves(f, args, nums, "jacobian")
    n = len(leaves)
    per_leaf = jac(f_leaves, tuple(range(n)))(*leaves)   # each output leaf -> n blocks
    blocks, treedef = tree_flatten(per_leaf)
    rows = [regroup(blocks[k:k + n]) for k in range(0, len(blocks), n)]
    if isinstance(argnums, numbers.Integral):
        rows = [row[0] for row in rows]
    return tree_unflatten(treedef.collapse_groups(n), rows)


# Further Jacobian modes registered by packages above this one (mode -> jacobian(f, argnums)),
# e.g. "eliminate" by chainrule.elimination: transforms never import upward.
JACOBIAN_MODES: dict = {}


def jacobian(f, argnums=0, mode=None, holomorphic=False):
    """The Jacobian in the cheaper mode: forward when outputs outnumber inputs, else reverse.

    The choice needs the output's size: it is found once per argument shapes and remembered
    (a wrong guess would only cost time, never correctness). `mode="eliminate"` runs vertex
    elimination in the cheapest order found (see docs/elimination.md). holomorphic=True as
    in jacfwd/jacrev: complex inputs and outputs, the Jacobian f'(z).
    """
    if mode in JACOBIAN_MODES:
        if holomorphic:
            raise ValueError(f"jacobian: holomorphic=True works with mode None, 'fwd' or "
                             f"'rev', not {mode!r}")
        return JACOBIAN_MODES[mode](f, argnums)
    if mode not in (None, "fwd", "rev"):
        raise ValueError(f"jacobian: mode must be None, 'fwd', 'rev' or one of "
                         f"{sorted(JACOBIAN_MODES)}, got {mode!r}")
    chosen_for = {}

    def wrapped(*args):
        chosen = mode
        if chosen is None:
            key = tuple((np.shape(a), np.asarray(a).dtype.str) for a in args)
            chosen = chosen_for.get(key)
            if chosen is None:
                chosen = chosen_for[key] = choose_mode(f, args, argnums, holomorphic)
        jac = _jacfwd if chosen == "fwd" else _jacrev
        return jac(f, argnums, holomorphic, "jacobian")(*args)

    wrapped.choose_mode = lambda *args: choose_mode(f, args, argnums, holomorphic)
    return wrapped


def choose_mode(f, args, argnums=0, holomorphic=False) -> str:
    """'fwd' when the output has more entries than the inputs, 'rev' otherwise; 'rev' for
    complex inputs without holomorphic=True (only reverse mode has a Jacobian for them:
    the gradients of real outputs, grad's convention)."""
    args = list(args)
    for i in _argnums(argnums):
        args[i] = as_input(args[i], "jacobian", i)
        if args[i].dtype.kind == "c" and not holomorphic:
            return "rev"
    with no_grad():
        out = f(*args)
    leaves, _ = flatten(out, "jacobian")
    n_out = sum(leaf.size for leaf in leaves)
    n_in = sum(args[i].size for i in _argnums(argnums))
    return "fwd" if n_out > n_in else "rev"


def hessian(f, argnums=0, holomorphic=False):
    """The Hessian: forward mode over reverse mode. Complex inputs need holomorphic=True
    (JAX's rule): the result is then f''(z)."""
    return _jacfwd(_jacrev(f, argnums, holomorphic, "hessian"), argnums, holomorphic,
                   "hessian")


def hvp(f, primals, tangents):
    """Hessian-vector product by forward-over-reverse; never forms the Hessian."""
    primals = tuple(primals)
    argnums = tuple(range(len(primals))) if len(primals) > 1 else 0
    _, tangent = jvp(grad(f, argnums), primals, tuple(tangents))
    return tangent
