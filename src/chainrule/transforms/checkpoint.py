"""`checkpoint`: trade compute for memory by recomputing a function's inside during backward."""

from __future__ import annotations

import functools

from ..core import Primitive, _new_tensor, bind, is_grad_enabled, no_grad
from ..ops._define import coerce
from ..ops.shape import Variadic
from . import api


def checkpoint(f):
    """f recorded as ONE node that keeps only its inputs; backward runs f again to get the
    intermediate values it needs (Griewank's checkpointing: memory for compute)."""

    @functools.wraps(f)
    def wrapped(*args):
        xs = coerce(args)
        return bind(_checkpoint_primitive(f), xs, {})

    return wrapped


def _checkpoint_primitive(f) -> Primitive:
    def impl(*arrays):
        with no_grad():  # nothing inside is recorded: that is the memory saved
            out = f(*[_new_tensor(a) for a in arrays])
        return out.data

    last = {}  # the grads of the latest cotangent, so f is re-run once per sweep, not per input

    def vjp_rule(i, g, ans, *xs):
        if last.get("g") is not g:
            if not is_grad_enabled():  # a plain backward: the recomputation need not record
                xs = tuple(x if x._trace is not None else _new_tensor(x.data) for x in xs)
            _, vjp_fn = api.vjp(f, *xs)
            last["g"], last["grads"] = g, vjp_fn(g)
        return last["grads"][i]

    def jvp_rule(tangents, ans, *xs):
        tangents = tuple(t if t is not None else _new_tensor(x.data * 0) for t, x in
                         zip(tangents, xs))
        return api.jvp(f, xs, tangents)[1]

    name = getattr(f, "__name__", "f")
    return Primitive(f"checkpoint[{name}]", impl, Variadic(vjp_rule), None, jvp_rule,
                     register=False)
