"""Function transforms: grad, value_and_grad, vjp, jvp, jacfwd, jacrev, jacobian, hessian, hvp.

Every call introduces its own variables: reverse transforms differentiate with respect to
a fresh identity node made for that call, forward transforms box tangents at a fresh
level. That is what keeps nested transforms free of perturbation confusion.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..core import (
    TensorBase,
    _new_tensor,
    active,
    bind,
    enable_grad,
    innermost_trace,
    new_box,
    new_level,
)
from ..ops._define import EMPTY
from ..ops.shape import identity_p, reshape
from .batching import vmap
from .forward import JVPTrace
from .reverse import grads_wrt

# How many reverse transforms are evaluating their function right now. Inside one, a
# derivative must itself be differentiable, so backward sweeps record (create_graph).
_reverse_depth = 0


def reverse_depth() -> int:
    """How many reverse transforms are evaluating their function right now."""
    return _reverse_depth


def as_input(x, transform: str, position: int) -> TensorBase:
    """A transform's argument as a float tensor (Python and NumPy numbers accepted)."""
    if not isinstance(x, TensorBase):
        array = np.array(x)  # a copy: mutating the caller's array later changes nothing
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{transform}: argument {position} is {type(x).__name__} "
                            f"(dtype {array.dtype}); pass a number, an array or a tensor")
        if not np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float64)
        return _new_tensor(array)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{transform}: argument {position} has dtype {x.dtype}; differentiate "
                        "with respect to a float tensor (e.g. x.astype(np.float64))")
    return x


def _fresh_variable(x: TensorBase) -> TensorBase:
    """A new node standing for x, so that this call differentiates by it and nothing else.

    Inside a running forward transform the variable is first lifted to that transform's
    level (zero tangent), so the graph is recorded on the outermost boxes and the
    gradient carries the enclosing transform's perturbation.
    """
    top = innermost_trace()
    if top is not None and (x._trace is None or x._trace.level < top.level):
        x = new_box(top, x, None)
    with enable_grad():
        y = bind(identity_p, (x,), EMPTY)
    y.requires_grad = True
    return y


def _flatten(out, transform):
    """The tensors of a tensor or (nested) tuple/list output, and how to rebuild it."""
    if isinstance(out, TensorBase):
        return [out], lambda leaves: leaves[0]
    if isinstance(out, (tuple, list)):
        parts = [_flatten(o, transform) for o in out]
        sizes = [len(p[0]) for p in parts]

        def rebuild(leaves):
            items, i = [], 0
            for (_, build), n in zip(parts, sizes):
                items.append(build(leaves[i:i + n]))
                i += n
            return type(out)(items)
        return [leaf for p in parts for leaf in p[0]], rebuild
    if isinstance(out, (numbers.Number, np.ndarray)):
        return [_new_tensor(np.asarray(out, dtype=float))], lambda leaves: leaves[0]
    raise TypeError(f"{transform}: the function returned {type(out).__name__}; return a "
                    "tensor or a tuple/list of tensors")


def _trace_reverse(f, args, argnums, transform, kwargs=None):
    """Run f with fresh variables at `argnums`; returns (out, variables, nested)."""
    global _reverse_depth
    args = list(args)
    nested = _reverse_depth > 0
    variables = []
    for i in argnums:
        if i >= len(args):
            raise TypeError(f"{transform}: argnums names argument {i} but the function was "
                            f"called with {len(args)} arguments")
        x = as_input(args[i], transform, i)
        nested = nested or x.requires_grad
        args[i] = _fresh_variable(x)
        variables.append(args[i])
    _reverse_depth += 1
    try:
        with enable_grad():
            out = f(*args, **(kwargs or {}))
    finally:
        _reverse_depth -= 1
    return out, variables, nested


def _zeros_for(x):
    return _new_tensor(np.zeros(x.shape, dtype=x.dtype))


def _argnums(argnums):
    nums = (argnums,) if isinstance(argnums, numbers.Integral) else tuple(argnums)
    if len(set(nums)) != len(nums) or not all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in nums):
        raise ValueError(f"argnums must be distinct argument positions, got {argnums!r}")
    return nums


def value_and_grad(f, argnums=0, has_aux=False):
    """f's value and its gradient with respect to the arguments at `argnums`."""
    nums = _argnums(argnums)

    def wrapped(*args, **kwargs):
        out, variables, nested = _trace_reverse(f, args, nums, "grad", kwargs)
        aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError("grad: has_aux=True needs f to return (value, aux)")
            out, aux = out
        if not isinstance(out, TensorBase) or out.size != 1:
            shape = getattr(out, "shape", type(out).__name__)
            raise TypeError(f"grad: f must return a scalar tensor, got {shape}; use cr.vjp "
                            "or cr.jacobian for non-scalar outputs")
        seed = _new_tensor(np.ones(out.shape, dtype=out.dtype))
        grads = grads_wrt([out], [seed], variables, create_graph=nested, retain_graph=nested)
        grads = tuple(g if g is not None else _zeros_for(x) for g, x in zip(grads, variables))
        result = grads[0] if isinstance(argnums, numbers.Integral) else grads
        value = out if nested else _detached(out)
        return ((value, aux), result) if has_aux else (value, result)

    return wrapped


def grad(f, argnums=0, has_aux=False):
    """The gradient of a scalar function: a function returning d f / d args[argnums]."""
    value_and_grad_f = value_and_grad(f, argnums, has_aux)

    def wrapped(*args, **kwargs):
        value, result = value_and_grad_f(*args, **kwargs)
        return (result, value[1]) if has_aux else result

    return wrapped


def _detached(t):
    if t._trace is not None or not t.requires_grad:
        return t
    return _new_tensor(t.data)


def vjp(f, *primals, has_aux=False):
    """(f(*primals), vjp_fn): vjp_fn(cotangent) gives one cotangent per primal, as a tuple."""
    out, variables, nested = _trace_reverse(f, primals, range(len(primals)), "vjp")
    aux = None
    if has_aux:
        out, aux = out
    leaves, _ = _flatten(out, "vjp")

    def vjp_fn(*cotangents):
        if len(cotangents) == 1 and len(leaves) > 1:
            cotangents = tuple(cotangents[0])
        cts, _ = _flatten(tuple(cotangents) if len(leaves) > 1 else cotangents[0], "vjp")
        seeds = []
        for leaf, ct in zip(leaves, cts):
            if ct.shape != leaf.shape:
                raise ValueError(f"vjp: cotangent of shape {ct.shape} for an output of shape "
                                 f"{leaf.shape}; they must match")
            seeds.append(ct)
        grads = grads_wrt(leaves, seeds, variables,
                          create_graph=nested or _reverse_depth > 0, retain_graph=True)
        return tuple(g if g is not None else _zeros_for(x) for g, x in zip(grads, variables))

    result = out if nested else _map(out, _detached)
    return (result, vjp_fn, aux) if has_aux else (result, vjp_fn)


def _map(out, fn):
    leaves, rebuild = _flatten(out, "transform")
    return rebuild([fn(leaf) for leaf in leaves])


def jvp(f, primals, tangents, has_aux=False):
    """(f(*primals), tangent of f along `tangents`), in one forward sweep."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    trace = JVPTrace(new_level())
    boxed = []
    for i, (p, t) in enumerate(zip(primals, tangents)):
        p = as_input(p, "jvp", i)
        t = t if isinstance(t, TensorBase) else _new_tensor(np.asarray(t, dtype=p.dtype))
        if t.shape != p.shape:
            raise ValueError(f"jvp: tangent {i} has shape {t.shape} but its primal has shape "
                             f"{p.shape}; they must match")
        boxed.append(new_box(trace, p, t))
    with active(trace):
        out = f(*boxed)
    aux = None
    if has_aux:
        out, aux = out
    primal_out = _map(out, lambda o: o._inner if o._trace is trace else o)
    tangent_out = _map(out, lambda o: (o._aux if o._aux is not None else _zeros_for(o._inner))
                       if o._trace is trace else _zeros_for(o))
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


def _jac_fwd_one(f, args, i):
    """Jacobian of f with respect to args[i]: one forward sweep carrying all n tangents."""
    x = as_input(args[i], "jacfwd", i)
    column = lambda t: jvp(lambda xi: f(*_with(args, i, xi)), (x,), (t,))[1]  # noqa: E731
    columns = vmap(column, out_axes=-1)(_identity_basis(x))
    return _map(columns, lambda c: reshape(c, c.shape[:-1] + x.shape))


def jacfwd(f, argnums=0):
    """The Jacobian by forward mode (shape out.shape + in.shape): cheap for few inputs."""
    nums = _argnums(argnums)

    def wrapped(*args):
        jacs = tuple(_jac_fwd_one(f, args, i) for i in nums)
        return jacs[0] if isinstance(argnums, numbers.Integral) else jacs

    return wrapped


def jacrev(f, argnums=0):
    """The Jacobian by reverse mode (shape out.shape + in.shape): cheap for few outputs."""
    nums = _argnums(argnums)

    def wrapped(*args):
        def f_sel(*xs):
            a = list(args)
            for i, x in zip(nums, xs):
                a[i] = x
            return f(*a)

        out, vjp_fn = vjp(f_sel, *[args[i] for i in nums])
        leaves, rebuild = _flatten(out, "jacrev")
        inputs = [as_input(args[i], "jacrev", i) for i in nums]
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


def jacobian(f, argnums=0, mode=None):
    """The Jacobian in the cheaper mode: forward when outputs outnumber inputs, else reverse.

    The choice needs the output's size: it is found once per argument shapes and remembered
    (a wrong guess would only cost time, never correctness).
    """
    if mode not in (None, "fwd", "rev"):
        raise ValueError(f"jacobian: mode must be None, 'fwd' or 'rev', got {mode!r}")
    chosen_for = {}

    def wrapped(*args):
        chosen = mode
        if chosen is None:
            key = tuple((np.shape(a), np.asarray(a).dtype.str) for a in args)
            chosen = chosen_for.get(key)
            if chosen is None:
                chosen = chosen_for[key] = choose_mode(f, args, argnums)
        return (jacfwd if chosen == "fwd" else jacrev)(f, argnums)(*args)

    wrapped.choose_mode = lambda *args: choose_mode(f, args, argnums)
    return wrapped


def choose_mode(f, args, argnums=0) -> str:
    """'fwd' when the output has more entries than the inputs, 'rev' otherwise."""
    from ..core import no_grad
    args = list(args)
    for i in _argnums(argnums):
        args[i] = as_input(args[i], "jacobian", i)
    with no_grad():
        out = f(*args)
    leaves, _ = _flatten(out, "jacobian")
    n_out = sum(leaf.size for leaf in leaves)
    n_in = sum(args[i].size for i in _argnums(argnums))
    return "fwd" if n_out > n_in else "rev"


def hessian(f, argnums=0):
    """The Hessian: forward mode over reverse mode."""
    return jacfwd(jacrev(f, argnums), argnums)


def hvp(f, primals, tangents):
    """Hessian-vector product by forward-over-reverse; never forms the Hessian."""
    primals = tuple(primals)
    argnums = tuple(range(len(primals))) if len(primals) > 1 else 0
    _, tangent = jvp(grad(f, argnums), primals, tuple(tangents))
    return tangent
