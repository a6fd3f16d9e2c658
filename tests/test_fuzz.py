"""Property-based fuzzing of the engine: random graphs of public ops on random shapes.

Each example builds a random program (0-d inputs, size-1 axes, broadcasting) and checks
that reverse mode is the transpose of forward mode (<w, J t> == <J^T w, t>), both against
central differences to second order, and that float32 inputs keep float32 values and
gradients. The profile in `make test` is small; `make fuzz` runs a long one
(CHAINRULE_FUZZ_EXAMPLES sets the count).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")  # a dev dependency: make test installs it
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.testing import check_grads  # noqa: E402

EXAMPLES = int(os.environ.get("CHAINRULE_FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 25)

# Smooth everywhere on the reals, so central differences are exact enough at any point.
UNARY = {
    "sin": cr.sin, "cos": cr.cos, "tanh": cr.tanh, "sigmoid": cr.sigmoid,
    "softplus": cr.softplus, "square": cr.square, "negative": cr.negative,
    "exp∘tanh": lambda x: cr.exp(cr.tanh(x)),
    "log(1+x²)": lambda x: cr.log(1 + x * x),
    "sqrt(1+x²)": lambda x: cr.sqrt(1 + x * x),
    "arctan": cr.arctan, "sinh∘tanh": lambda x: cr.sinh(cr.tanh(x)),
    "x**3": lambda x: x ** 3,
    "sum(-1, keepdims)": lambda x: cr.sum(x, axis=-1, keepdims=True) if x.ndim else x,
    "mean(0, keepdims)": lambda x: cr.mean(x, axis=0, keepdims=True) if x.ndim else x,
    "logsumexp(-1, keepdims)": lambda x: cr.logsumexp(x, axis=-1, keepdims=True)
    if x.ndim else x,
    "softmax(-1)": lambda x: cr.softmax(x, axis=-1) if x.ndim else x,
    "transpose": lambda x: cr.transpose(x),
    "flip": lambda x: cr.flip(x, axis=0) if x.ndim else x,
    "prod(-1, keepdims)": lambda x: cr.prod(x, axis=-1, keepdims=True) if x.ndim else x,
    "gram": lambda x: x @ cr.transpose(x) if x.ndim else x * x,
    "einsum trace": lambda x: cr.einsum("...i,...i->...", x, x) if x.ndim else x,
    "getitem": lambda x: x[..., :1] if x.ndim else x,
    "concatenate": lambda x: cr.concatenate([x, 2 * x], axis=-1) if x.ndim else x,
    "var(-1, keepdims)": lambda x: cr.var(x, axis=-1, keepdims=True) if x.ndim else x,
    "arcsinh": cr.arcsinh, "sinc": cr.sinc, "exp2∘tanh": lambda x: cr.exp2(cr.tanh(x)),
    "cumprod(-1)": lambda x: cr.cumprod(x, axis=-1) if x.ndim else x,
    "roll(1, -1)": lambda x: cr.roll(x, 1, axis=-1) if x.ndim else x,
    "tile": lambda x: cr.tile(x, 2),
    "tril": lambda x: cr.tril(x) if x.ndim >= 2 else x,
    "diff(-1, prepend)": lambda x: cr.diff(x, prepend=x[..., -1:]) if x.ndim else x,
    "kron": lambda x: cr.kron(x, x) if x.ndim else x,
}
# Kinks (abs, relu, max, clip): exact in both modes, but finite differences may straddle
# a kink, so these join only the transpose and dtype properties.
KINKED = {
    "abs": cr.abs, "relu": cr.relu, "clip": lambda x: cr.clip(x, -0.5, 0.5),
    "max(-1, keepdims)": lambda x: cr.max(x, axis=-1, keepdims=True) if x.ndim else x,
    "maximum(x, 0.2)": lambda x: cr.maximum(x, 0.2), "minimum(x, -x)": lambda x: cr.minimum(x, -x),
    "sort(-1)": lambda x: cr.sort(x) if x.ndim else x,
    "median(-1, keepdims)": lambda x: cr.median(x, axis=-1, keepdims=True) if x.ndim else x,
    "fmax(x, 0.1)": lambda x: cr.fmax(x, 0.1), "x % 0.7": lambda x: x % 0.7,
}
BINARY = {
    "add": lambda x, y: x + y, "subtract": lambda x, y: x - y,
    "multiply": lambda x, y: x * y,
    "divide": lambda x, y: x / (1 + y * y),
    "power": lambda x, y: (1 + x * x) ** cr.tanh(y),
    "arctan2": lambda x, y: cr.arctan2(x, 2 + y * y),
    "where": lambda x, y: cr.where(x > y, x * y, x + y),
    "logaddexp": cr.logaddexp, "logaddexp2": cr.logaddexp2,
    "hypot": lambda x, y: cr.hypot(x, 1 + y * y),
}
SHAPES = [(), (1,), (3,), (1, 3), (2, 1), (2, 3)]


@st.composite
def programs(draw, kinks=False):
    """A list of steps over a growing list of values; inputs are values 0..n_inputs-1."""
    unary = sorted(UNARY) + (sorted(KINKED) if kinks else [])
    n_inputs = draw(st.integers(1, 3))
    shapes = [draw(st.sampled_from(SHAPES)) for _ in range(n_inputs)]
    steps = []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            steps.append(("u", draw(st.sampled_from(unary)), None))
        else:
            steps.append(("b", draw(st.sampled_from(sorted(BINARY))),
                          draw(st.integers(0, 10))))
    seed = draw(st.integers(0, 2**16))
    return shapes, steps, seed


def _run(steps, n_inputs):
    """The program as a function of its inputs, ending in a scalar."""
    def f(*xs):
        values = list(xs)
        for kind, name, pick in steps:
            last = values[-1]
            if kind == "u":
                values.append((UNARY.get(name) or KINKED[name])(last))
            else:
                other = values[pick % len(values)]
                try:
                    np.broadcast_shapes(last.shape, other.shape)
                except ValueError:
                    other = cr.sum(other)  # keep the program well formed
                values.append(BINARY[name](last, other))
            if np.abs(values[-1].data).max(initial=0) > 10:
                # Squash large values: finite differences lose digits on big outputs.
                values[-1] = 10 * cr.tanh(values[-1] / 10)
        out = values[-1]
        for v in values[:n_inputs]:
            out = out + 0.1 * cr.sum(cr.tanh(v))  # every input reaches the output
        return cr.sum(out * cr.tanh(out))  # grows slowly: finite differences stay exact
    return f


def _inputs(shapes, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return tuple(rng.uniform(-1.5, 1.5, s).astype(dtype) for s in shapes)


@FUZZ
@given(programs(kinks=True))
def test_reverse_mode_is_the_transpose_of_forward_mode(program):
    shapes, steps, seed = program
    xs = _inputs(shapes, seed)
    f = _run(steps, len(xs))
    rng = np.random.default_rng(seed + 1)
    tangents = tuple(rng.standard_normal(np.shape(x)) for x in xs)
    _, jt = cr.jvp(f, xs, tangents)
    _, vjp_fn = cr.vjp(f, *xs)
    jtw = vjp_fn(np.ones(()))
    lhs = float(jt.data)
    rhs = sum(float(np.sum(g.data * t)) for g, t in zip(jtw, tangents))
    assert abs(lhs - rhs) <= 1e-9 * (1 + abs(lhs))


@FUZZ
@given(programs())
def test_random_programs_match_central_differences_to_second_order(program):
    shapes, steps, seed = program
    xs = _inputs(shapes, seed)
    check_grads(_run(steps, len(xs)), xs, order=2, modes=("fwd", "rev"))


@FUZZ
@given(programs(kinks=True))
def test_float32_programs_keep_float32(program):
    shapes, steps, seed = program
    xs = _inputs(shapes, seed, np.float32)
    f = _run(steps, len(xs))
    assert f(*xs).dtype == np.float32
    grads = cr.grad(f, argnums=tuple(range(len(xs))))(*xs)
    assert all(g.dtype == np.float32 for g in grads)
    leaves = [cr.tensor(x, requires_grad=True) for x in xs]
    f(*leaves).backward()
    assert all(leaf.grad.dtype == np.float32 for leaf in leaves)
