"""User-defined derivative rules: `custom_jvp` and `custom_vjp` turn a function into a primitive.

The decorated function becomes the primitive's implementation (run on plain tensors under
`no_grad`, so its own ops are never recorded) and the user's rules become its JVP/VJP
rules, exactly like a built-in op made by `defop`. A function given only one kind of rule
gets the other by transposition: a JVP rule is linear in the tangent, so its VJP is the
reverse-mode gradient of <g, jvp(t)> with respect to t, and symmetrically. Both kinds of
rules are therefore always the user's formulas, and every transform works to any order.
"""

from __future__ import annotations

import functools

import numpy as np

from ..core import (
    TensorBase,
    _new_tensor,
    bind,
    enable_grad,
    is_grad_enabled,
    no_grad,
    top_trace,
)
from ..ops._define import EMPTY, Op
from ..ops.shape import broadcast_to, identity_p, sum_to
from .reverse import grads_wrt
from .tree import has_containers, tree_flatten, tree_leaves, tree_unflatten

__all__ = ["custom_jvp", "custom_vjp", "CustomFunction"]


def _probe(like, values):
    """A fresh zero variable shaped like `like`, at the highest level among `values`."""
    top = top_trace(values)
    p = _new_tensor(np.zeros(like.shape, like.dtype))
    if top is not None:
        p = top.lift(p)   # a zero tangent, no batch axis
    with enable_grad():
        y = bind(identity_p, (p,), EMPTY)
    y.requires_grad = True
    return y


def _transpose(linear, like, seed, values):
    """L^T seed for the linear map p -> linear(p) on tensors shaped like `like`."""
    create_graph = is_grad_enabled()  # an enclosing derivative is being recorded
    p = _probe(like, values)
    with enable_grad():
        out = linear(p)
    if out is None:
        return None
    if out.shape != seed.shape:  # a rule may leave broadcasting to the engine
        out = broadcast_to(out, seed.shape) if out.ndim <= seed.ndim else sum_to(out, seed.shape)
    (ct,) = grads_wrt([out], [seed], [p], create_graph=create_graph, retain_graph=False)
    return ct


def _derived_vjp(i, jvp_rule):
    """VJP of input i: transpose of the user's JVP rule for that input."""
    def rule(g, ans, *xs, **params):
        return _transpose(lambda t: jvp_rule(t, ans, *xs, **params), xs[i], g, (ans, *xs))
    return rule


def _derived_jvp(i, vjp_rule):
    """JVP contribution of input i: transpose of the user's VJP rule for that input."""
    def rule(t, ans, *xs, **params):
        return _transpose(lambda g: vjp_rule(g, ans, *xs, **params), ans, t, (ans, *xs))
    return rule


def _summed_to_input(i, vjp_rule):
    """The user's VJP rule, with broadcasting undone for them (as `sum_to` does in ops)."""
    def rule(g, ans, *xs, **params):
        ct = vjp_rule(g, ans, *xs, **params)
        return sum_to(ct, xs[i].shape) if ct is not None and ct.shape != xs[i].shape else ct
    return rule


class CustomFunction:
    """A function with user-given derivative rules; call it like the function it wraps."""

    def __init__(self, fun, name=None):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.name = name or f"{fun.__module__}.{fun.__qualname__}"
        self.jvp_rules = None
        self.vjp_rules = None
        self.primitive = None
        self._leaf_ops = {}  # pytree structure of the inputs -> leaf-level CustomFunction

    def defjvp(self, *rules):
        """Give JVP rules `(t, ans, *inputs, **params) -> tangent`, one per input."""
        self.jvp_rules = rules
        self._build()
        return rules[0] if len(rules) == 1 else self

    def defvjp(self, *rules):
        """Give VJP rules `(g, ans, *inputs, **params) -> cotangent`, one per input."""
        self.vjp_rules = rules
        self._build()
        return rules[0] if len(rules) == 1 else self

    def _build(self):
        jvps, vjps = self.jvp_rules, self.vjp_rules
        if jvps is not None and vjps is not None and len(jvps) != len(vjps):
            raise TypeError(f"{self.name}: {len(jvps)} JVP rules but {len(vjps)} VJP rules; "
                            "give one rule per input")
        n = len(jvps if jvps is not None else vjps)
        if vjps is None:
            vjps = tuple(_derived_vjp(i, r) for i, r in enumerate(jvps))
        else:
            vjps = tuple(_summed_to_input(i, r) for i, r in enumerate(vjps))
        if jvps is None:
            jvps = tuple(_derived_jvp(i, r) for i, r in enumerate(vjps))
        fun = self.fun

        def impl(*arrays, **params):
            with no_grad():
                out = fun(*[_new_tensor(a) for a in arrays], **params)
            if not isinstance(out, TensorBase):
                raise TypeError(f"{self.name}: a function with custom rules must return one "
                                f"tensor, got {type(out).__name__}")
            return out.data

        self.primitive = Op(self.name, impl, tuple(vjps), tuple(jvps), None, doc=fun.__doc__
                            or "")
        self.nin = n

    def __call__(self, *args, **params):
        if self.primitive is None:
            return self.fun(*args, **params)
        if has_containers(args):
            return self._on_leaves(args, params)
        if len(args) != self.nin:
            raise TypeError(f"{self.name}: rules were given for {self.nin} inputs, called "
                            f"with {len(args)}; pass non-tensor options as keywords")
        return self.primitive(*args, **params)


    def _on_leaves(self, args, params):
        """Pytree inputs: one primitive over their leaves (made once per structure), whose
        rule for a leaf calls the user's rule for its input and takes that leaf's part."""
        if len(args) != self.nin:
            raise TypeError(f"{self.name}: rules were given for {self.nin} inputs, called "
                            f"with {len(args)}")
        flat = [tree_flatten(a) for a in args]
        key = tuple(treedef for _, treedef in flat)
        if key not in self._leaf_ops:
            self._leaf_ops[key] = self._leaf_primitive(key)
        return self._leaf_ops[key](*[leaf for leaves, _ in flat for leaf in leaves], **params)

    def _leaf_primitive(self, treedefs):
        """The leaf-level primitive for inputs of structures `treedefs`."""
        owners = [(i, k) for i, d in enumerate(treedefs) for k in range(d.num_leaves)]
        bounds = np.cumsum([0] + [d.num_leaves for d in treedefs])

        def inputs(leaves):
            return [tree_unflatten(d, list(leaves[bounds[i]:bounds[i + 1]]))
                    for i, d in enumerate(treedefs)]

        def vjp_of_leaf(j):
            i, k = owners[j]

            def rule(g, ans, *leaves, **params):
                ct = self.vjp_rules[i](g, ans, *inputs(leaves), **params)
                return None if ct is None else tree_leaves(ct)[k]
            return rule

        def jvp_of_leaf(j):
            i, k = owners[j]

            def rule(t, ans, *leaves, **params):
                zeros = [_new_tensor(np.zeros(x.shape, x.dtype)) if n != k else t
                         for n, x in enumerate(leaves[bounds[i]:bounds[i + 1]])]
                return self.jvp_rules[i](tree_unflatten(treedefs[i], zeros), ans,
                                         *inputs(leaves), **params)
            return rule

        n = len(owners)
        leaf_fn = CustomFunction(lambda *leaves, **params: self.fun(*inputs(leaves), **params),
                                 f"{self.name}[pytree]")
        if self.vjp_rules is not None:
            leaf_fn.vjp_rules = tuple(vjp_of_leaf(j) for j in range(n))
        if self.jvp_rules is not None:
            leaf_fn.jvp_rules = tuple(jvp_of_leaf(j) for j in range(n))
        leaf_fn._build()
        return leaf_fn


def custom_jvp(fun=None, *, name=None):
    """Decorator: `fun` with a JVP rule given by `@fun.defjvp` (its VJP is derived)."""
    if fun is None:
        return lambda f: CustomFunction(f, name)
    return CustomFunction(fun, name)


def custom_vjp(fun=None, *, name=None):
    """Decorator: `fun` with a VJP rule given by `@fun.defvjp` (its JVP is derived)."""
    if fun is None:
        return lambda f: CustomFunction(f, name)
    return CustomFunction(fun, name)
