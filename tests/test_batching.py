"""vmap: every op of the table batched at once equals the op applied example by example."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import Primitive
from chainrule.ops import elementwise, linalg, reduce, shape, vmap_rules
from chainrule.transforms import batching

from .op_cases import all_cases

# A boolean mask computed from mapped values has a data-dependent shape: not batchable.
# Dropout draws a different mask per example under vmap by design (tests/test_nn_conv.py).
CASES = [c for c in all_cases() if str(c) not in ("getitem[bool-mask]", "dropout")]


def _loop(fn, batches):
    return np.stack([np.asarray(fn(*[cr.tensor(a) for a in ex]).data)
                     for ex in zip(*batches)])


@pytest.mark.parametrize("case", CASES, ids=str)
def test_vmap_of_every_op_equals_the_loop(case):
    rng = np.random.default_rng(1)
    samples = [case.make(rng) for _ in range(3)]
    batches = [np.stack(column) for column in zip(*samples)]
    got = cr.vmap(case.fn)(*[cr.tensor(b) for b in batches])
    np.testing.assert_allclose(got.data, _loop(case.fn, batches), rtol=1e-12, atol=1e-12)


def test_every_builtin_primitive_names_its_batch_rule():
    from chainrule.core import builtin_primitives
    missing = [name for name, p in builtin_primitives().items() if p.batch is None]
    assert not missing, f"primitives without a batch rule (they would loop): {missing}"


def test_core_primitives_have_batch_rules_not_the_loop():
    core_ops = [p for m in (elementwise, reduce, shape, linalg)
                for p in vars(m).values() if isinstance(p, Primitive)]
    assert core_ops and all(p.batch not in (None, "loop") for p in core_ops)


def test_batched_ops_call_each_primitive_once(monkeypatch):
    calls = []
    original = cr.PRIMITIVES["tanh"].impl
    monkeypatch.setattr(cr.PRIMITIVES["tanh"], "impl", lambda x: calls.append(x.shape)
                        or original(x))
    out = cr.vmap(lambda x: cr.tanh(x @ cr.ones((4, 2))))(np.ones((50, 4)))
    assert out.shape == (50, 2) and calls == [(50, 2)]


@pytest.mark.parametrize("sa, sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)),
                                    ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
                                    ((2, 3), (5, 3, 4)), ((3,), (5, 3, 4))])
@pytest.mark.parametrize("axes", [(0, 0), (0, None), (None, 0)])
def test_matmul_every_rank_and_batching(sa, sb, axes):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(((4,) if axes[0] == 0 else ()) + sa)
    b = rng.standard_normal(((4,) if axes[1] == 0 else ()) + sb)
    got = cr.vmap(cr.matmul, in_axes=axes)(a, b)
    want = np.stack([np.matmul(a[i] if axes[0] == 0 else a, b[i] if axes[1] == 0 else b)
                     for i in range(4)])
    np.testing.assert_allclose(got.data, want, rtol=1e-12)


@pytest.mark.parametrize("index", [
    (np.array([0, 2]), slice(None), np.array([1, 0])),    # advanced axes split: NumPy moves them
    (0, slice(None), np.array([1, 1, 0])),
    (Ellipsis, np.array([[0, 1], [1, 0]])),
    (None, slice(1, None), 1),
])
def test_getitem_and_its_vjp_batched(index):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 2, 2))
    got = cr.vmap(lambda v: v[index])(x)
    np.testing.assert_allclose(got.data, np.stack([x[i][index] for i in range(4)]))
    grads = cr.vmap(cr.grad(lambda v: (v[index] ** 2).sum()))(x)
    want = np.stack([cr.grad(lambda v: (v[index] ** 2).sum())(x[i]).data for i in range(4)])
    np.testing.assert_allclose(grads.data, want)


def test_solve_with_vector_and_matrix_right_hand_sides():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4, 4)) + 4 * np.eye(4)
    for b in (rng.standard_normal((3, 4)), rng.standard_normal((3, 4, 2))):
        got = cr.vmap(cr.linalg.solve)(a, b)
        np.testing.assert_allclose(got.data, np.stack([np.linalg.solve(a[i], b[i])
                                                       for i in range(3)]))
    got = cr.vmap(cr.linalg.solve, in_axes=(None, 0))(a[0], rng.standard_normal((3, 4)))
    assert got.shape == (3, 4)


def test_prod_gradient_is_exact_when_only_one_example_has_a_zero():
    x = np.array([[1.0, 2.0, 3.0], [0.0, 2.0, 3.0]])
    got = cr.vmap(cr.grad(lambda v: cr.prod(v)))(x)
    np.testing.assert_allclose(got.data, [[6.0, 3.0, 2.0], [6.0, 0.0, 0.0]])


def test_in_axes_out_axes_and_unmapped_arguments():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 5)), rng.standard_normal((3,))
    got = cr.vmap(lambda col, w: (col * w).sum(), in_axes=(1, None))(x, w)
    np.testing.assert_allclose(got.data, (x * w[:, None]).sum(0))
    got = cr.vmap(lambda r: r * 2.0, out_axes=1)(x)
    np.testing.assert_allclose(got.data, (2 * x).T)
    const = cr.vmap(lambda r: cr.tensor(1.0), in_axes=0)(x)   # an output with no batch axis
    np.testing.assert_allclose(const.data, np.ones(3))
    a, b = cr.vmap(lambda r: (r.sum(), r * r))(x)
    assert a.shape == (3,) and b.shape == (3, 5)


def test_a_mask_computed_from_mapped_values_is_refused_not_misread():
    x = np.array([[1.0, -1.0], [-1.0, 1.0]])
    with pytest.raises(IndexError, match="data-dependent shape"):
        cr.vmap(lambda v: v[v > 0])(x)
    with pytest.raises(IndexError, match="data-dependent shape"):
        cr.vmap(lambda v: cr.jvp(lambda u: u[u > 0], (v,), (v,))[1])(x)
    got = cr.vmap(lambda v: cr.where(v > 0, v, 0.0).sum())(x)   # the batchable spelling
    np.testing.assert_allclose(got.data, [1.0, 1.0])


def test_mismatched_batch_sizes_are_an_error():
    with pytest.raises(ValueError, match="common length"):
        cr.vmap(cr.add)(np.ones((2, 3)), np.ones((4, 3)))
    with pytest.raises(ValueError, match="no such axis"):
        cr.vmap(cr.sin)(3.0)


def test_nested_vmap_is_an_outer_product_of_batches():
    a, b = np.arange(3.0), np.arange(4.0)
    got = cr.vmap(lambda x: cr.vmap(lambda y: x * y + 1.0)(b))(a)
    np.testing.assert_allclose(got.data, np.outer(a, b) + 1)


def test_vmap_composes_with_grad_and_jvp_both_ways():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4))
    f = lambda v: (cr.sin(v) * v).sum()  # noqa: E731
    per_example = np.stack([cr.grad(f)(r).data for r in x])
    np.testing.assert_allclose(cr.vmap(cr.grad(f))(x).data, per_example)
    # grad of a sum of vmapped values: the batch axis is an ordinary axis for reverse mode
    np.testing.assert_allclose(cr.grad(lambda X: cr.vmap(f)(X).sum())(x).data, per_example)
    t = rng.standard_normal((6, 4))
    _, tan = cr.jvp(cr.vmap(f), (x,), (t,))
    np.testing.assert_allclose(tan.data, (per_example * t).sum(1))
    tan2 = cr.vmap(lambda xi, ti: cr.jvp(f, (xi,), (ti,))[1])(x, t)
    np.testing.assert_allclose(tan2.data, tan.data)


def test_loop_fallback_serves_a_primitive_without_a_batch_rule():
    twice = cr.defop("test_batching.twice", lambda x: 2 * x,
                     vjp=lambda g, ans, x: 2 * g, jvp=lambda t, ans, x: 2 * t)
    got = cr.vmap(lambda x: twice(x) + 1.0)(np.ones((3, 2)))
    np.testing.assert_allclose(got.data, 3 * np.ones((3, 2)))
    assert "test_batching.twice" in batching.unbatched_primitives()


def _small_cnn():
    from chainrule.ops import conv, nn, pool
    rng = np.random.default_rng(0)
    w = cr.tensor(rng.standard_normal((3, 2, 3, 3)) * 0.5)
    b = cr.tensor(rng.standard_normal(3))
    target = np.array([1, 0])

    def logits(x):                       # x: (2, 2, 6, 6) -> (2, 3)
        h = cr.tanh(conv.conv2d(x, w, b, padding=1))
        h = pool.max_pool2d(h, 2) + pool.avg_pool2d(h, 2)
        return h.sum(axis=(2, 3))

    def loss(x):
        return nn.cross_entropy_per_sample(logits(x), target).sum()

    return logits, loss, rng.standard_normal((2, 2, 6, 6))


def test_image_ops_fold_the_batch_into_samples_and_match_the_loop(monkeypatch):
    logits, loss, x = _small_cnn()
    looped = []

    def loop(size, op, *a):
        looped.append(op.name)
        return vmap_rules.loop_rule(size, op, *a)
    for module in (vmap_rules, batching):
        monkeypatch.setattr(module, "loop_rule", loop)
    monkeypatch.setitem(vmap_rules.KINDS, "loop", loop)
    xs = np.stack([x, 2 * x, -x])
    np.testing.assert_allclose(cr.vmap(logits)(xs).data, _loop(logits, [xs]), atol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.grad(loss))(xs).data,
                               _loop(cr.grad(loss), [xs]), atol=1e-12)
    jr, jf = cr.jacrev(logits)(x), cr.jacfwd(logits)(x)
    assert jr.shape == (2, 3, 2, 2, 6, 6)
    np.testing.assert_allclose(jr.data, jf.data, atol=1e-12)
    assert set(looped) <= {"conv2d_weight_grad"}


def test_python_control_flow_on_mapped_values_is_refused():
    def branchy(x):
        return x * 2 if x.sum() > 0 else -x

    with pytest.raises(TypeError, match="one value per example of cr.vmap"):
        cr.vmap(branchy)(np.array([[1.0, 2.0], [-3.0, -4.0]]))
    with pytest.raises(TypeError, match="item: this tensor holds one value per example"):
        cr.vmap(lambda x: x * x.sum().item())(np.ones((2, 3)))
    # the same function without vmap, and cr.where under vmap, are fine
    assert branchy(cr.tensor([1.0, 2.0])).data.tolist() == [2.0, 4.0]
    out = cr.vmap(lambda x: cr.where(x.sum() > 0, x * 2, -x))(np.array([[1.0, 2.0],
                                                                          [-3.0, -4.0]]))
    assert out.data.tolist() == [[2.0, 4.0], [3.0, 4.0]]


def test_vmap_of_batch_norm_never_updates_running_stats_from_one_example():
    x = np.arange(24.0).reshape(2, 3, 4)          # vmap over 2 batches of (3, 4)
    running_mean, running_var = cr.zeros(4), cr.ones(4)

    def normalize(xb):
        return cr.nn.functional.batch_norm(xb, running_mean, running_var, training=True)

    with pytest.raises(TypeError, match="one value per example of cr.vmap"):
        cr.vmap(normalize)(x)
    assert running_mean.data.tolist() == [0.0] * 4      # untouched, not example 0's mean
    # Under forward mode `.data` is the primal: the statistics come from the whole batch.
    cr.jvp(normalize, (x[0],), (np.ones((3, 4)),))
    np.testing.assert_allclose(running_mean.data, 0.1 * x[0].mean(axis=0))


def test_batch_box_reports_one_example_and_refuses_its_data():
    seen = {}

    def f(x):
        seen.update(shape=x.shape, ndim=x.ndim, size=x.size, dtype=x.dtype)
        with pytest.raises(TypeError, match=r"\.data: .*5 examples of shape \(2, 3\)"):
            _ = x.data
        with pytest.raises(TypeError, match="cr.where"):
            float(x.sum())
        return x * 2

    out = cr.vmap(f)(np.ones((5, 2, 3), np.float32))
    assert seen == {"shape": (2, 3), "ndim": 2, "size": 6, "dtype": np.float32}
    assert out.shape == (5, 2, 3) and out.dtype == np.float32


@pytest.mark.parametrize("in_axes", [(0, None), (None, 0), (0, 0)], ids=str)
def test_linear_gradient_primitives_batch_with_either_input_unmapped(in_axes):
    from chainrule.ops import nn
    from chainrule.ops._define import bind_tensors

    rng = np.random.default_rng(2)
    g, w, x = rng.standard_normal((3, 2, 5, 4)), rng.standard_normal((3, 4, 6)), \
        rng.standard_normal((3, 2, 5, 6))
    for prim, a, b in ((nn.linear_input_grad_p, g, w), (nn.linear_weight_grad_p, g, x)):
        a, b = (v if axis == 0 else v[0] for axis, v in zip(in_axes, (a, b)))

        def fn(u, v, prim=prim):
            return bind_tensors(prim, (u, v))
        got = cr.vmap(fn, in_axes=in_axes)(cr.tensor(a), cr.tensor(b))
        want = np.stack([fn(cr.tensor(a[i] if in_axes[0] == 0 else a),
                            cr.tensor(b[i] if in_axes[1] == 0 else b)).data for i in range(3)])
        np.testing.assert_allclose(got.data, want, rtol=1e-12, atol=1e-12)
