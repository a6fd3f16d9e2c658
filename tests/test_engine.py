"""The graph, the reverse sweep, nesting, conventions, errors and scale."""

import gc
import math
import time
import weakref

import numpy as np
import pytest

import chainrule as cr

# ----- the seeds' worked examples ---------------------------------------------------------


def test_colah_e_equals_a_plus_b_times_b_plus_1():
    a = cr.tensor(2.0, requires_grad=True)
    b = cr.tensor(1.0, requires_grad=True)
    e = (a + b) * (b + 1)
    e.backward()
    assert e.item() == 6.0 and a.grad.item() == 2.0 and b.grad.item() == 5.0


def test_f_equals_x_times_y():
    dx, dy = cr.grad(lambda x, y: x * y, argnums=(0, 1))(2.0, -6.0)
    assert dx.item() == -6.0 and dy.item() == 2.0


# ----- Goodfellow's vocabulary ---------------------------------------------------------------


def test_operation_inputs_and_consumers():
    a = cr.tensor(2.0, requires_grad=True)
    b = cr.tensor(1.0, requires_grad=True)
    c = a + b
    d = b + 1
    e = c * d
    assert e.op.name == "multiply" and e.inputs == (c, d)
    assert c.op.name == "add" and c.inputs[0] is a and c.inputs[1] is b
    assert a.op is None and a.is_leaf and not e.is_leaf
    assert b.consumers(within=e) == [c, d] or set(map(id, b.consumers(within=e))) == {
        id(c), id(d)}
    assert [t.op.name for t in c.consumers(within=e)] == ["multiply"]
    assert e.consumers(within=e) == []


# ----- reverse mode ------------------------------------------------------------------------


def test_grad_accumulates_across_backward_calls():
    x = cr.tensor(3.0, requires_grad=True)
    (x * x).backward()
    (x * x).backward()
    assert x.grad.item() == 12.0
    x.grad = None
    (x * 2).backward()
    assert x.grad.item() == 2.0


def test_fan_out_sums_cotangents_and_each_rule_runs_once(monkeypatch):
    calls = []
    rule = cr.PRIMITIVES["sin"].vjp[0]
    monkeypatch.setattr(cr.PRIMITIVES["sin"], "vjp",
                        (lambda g, ans, x: calls.append(1) or rule(g, ans, x),))
    x = cr.tensor(0.5, requires_grad=True)
    s = cr.sin(x)
    y = s * s + s
    y.backward()
    assert len(calls) == 1
    assert math.isclose(x.grad.item(), (2 * math.sin(0.5) + 1) * math.cos(0.5))


def test_second_backward_on_a_freed_graph_says_retain_graph():
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.exp(x) * x
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    z = cr.exp(x) * x
    z.backward(retain_graph=True)
    z.backward()
    assert math.isclose(x.grad.item(), 2 * 3 * math.exp(2.0) + 3 * math.exp(2.0))


def test_create_graph_gives_gradients_of_gradients():
    x = cr.tensor(1.5, requires_grad=True)
    y = x ** 3
    y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and math.isclose(g.item(), 3 * 1.5 ** 2)
    x.grad = None
    g.backward()
    assert math.isclose(x.grad.item(), 6 * 1.5)


def test_backward_with_explicit_grad_and_retain_grad():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = (x * x).retain_grad()
    y = h * 2
    y.backward(grad=cr.tensor([1.0, 0.0, -1.0]))
    np.testing.assert_allclose(x.grad.data, [4.0, 0.0, -12.0])
    np.testing.assert_allclose(h.grad.data, [2.0, 0.0, -2.0])


def test_functional_forms_share_the_engine():
    f = lambda x, y: cr.sum(x * cr.sin(y))  # noqa: E731
    x, y = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    value, (gx, gy) = cr.value_and_grad(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(value.data, np.sum(x * np.sin(y)))
    np.testing.assert_allclose(gx.data, np.sin(y))
    np.testing.assert_allclose(gy.data, x * np.cos(y))
    out, vjp_fn = cr.vjp(lambda x: x * 2, cr.tensor([1.0, 2.0]))
    grads = vjp_fn(cr.tensor([1.0, 1.0]))
    assert isinstance(grads, tuple) and grads[0].data.tolist() == [2.0, 2.0]
    (g, aux) = cr.grad(lambda x: (x * x, "aux"), has_aux=True)(3.0)
    assert g.item() == 6.0 and aux == "aux"


def test_gradient_of_an_unused_argument_is_zeros():
    gx, gy = cr.grad(lambda x, y: x * 2, argnums=(0, 1))(1.0, np.ones(3))
    assert gx.item() == 2.0 and gy.data.tolist() == [0.0, 0.0, 0.0]


def test_nested_reverse_transforms_make_fresh_variables():
    assert cr.grad(lambda x: x * cr.grad(lambda y: x + y)(x))(2.0).item() == 1.0
    inner = lambda x: cr.grad(lambda y: y ** 2)(x)  # noqa: E731
    assert cr.grad(inner)(3.0).item() == 2.0
    assert cr.grad(lambda x: cr.grad(lambda y: x * y)(2.0))(3.0).item() == 1.0


def test_stop_gradient_and_no_grad():
    assert cr.grad(lambda x: x * cr.stop_gradient(x))(3.0).item() == 3.0
    x = cr.tensor(2.0, requires_grad=True)
    with cr.no_grad():
        y = x * x
    assert not y.requires_grad and y.is_leaf
    assert cr.is_grad_enabled()


# ----- conventions at non-differentiable points (docs/conventions.md) -----------------------


def grad_of(f, x):
    return cr.grad(f)(np.asarray(x, dtype=float)).data


def test_ties_split_the_gradient_evenly():
    np.testing.assert_allclose(grad_of(lambda x: cr.max(x), [1.0, 3.0, 3.0]), [0, 0.5, 0.5])
    np.testing.assert_allclose(grad_of(lambda x: cr.min(x), [2.0, 2.0, 2.0, 5.0]),
                               [1 / 3, 1 / 3, 1 / 3, 0])
    assert cr.grad(lambda x, y: cr.maximum(x, y), argnums=(0, 1))(1.0, 1.0)[0].item() == 0.5
    assert cr.grad(lambda x, y: cr.minimum(x, y), argnums=(0, 1))(1.0, 1.0)[1].item() == 0.5


def test_abs_relu_sqrt_at_zero():
    assert grad_of(cr.abs, 0.0) == 0.0
    assert grad_of(cr.relu, 0.0) == 0.0
    with np.errstate(divide="ignore"):
        assert grad_of(cr.sqrt, 0.0) == np.inf


def test_prod_with_zeros_is_exact():
    np.testing.assert_array_equal(grad_of(lambda x: cr.prod(x), [2.0, 0.0, 3.0]), [0, 6, 0])
    np.testing.assert_array_equal(grad_of(lambda x: cr.prod(x), [0.0, 0.0, 3.0]), [0, 0, 0])


def test_power_derivative_in_exponent_at_zero_base_is_zero():
    gx, gy = cr.grad(lambda x, y: x ** y, argnums=(0, 1))(0.0, 2.0)
    assert gy.item() == 0.0 and gx.item() == 0.0


def test_norm_at_zero_has_gradient_zero():
    np.testing.assert_array_equal(grad_of(cr.linalg.norm, [0.0, 0.0]), [0.0, 0.0])


@pytest.mark.parametrize("fn", [
    lambda x: cr.logsumexp(x), lambda x: cr.softmax(x)[0], lambda x: cr.log_softmax(x)[1],
    lambda x: cr.softplus(x).sum(), lambda x: cr.sigmoid(x).sum()])
def test_stable_functions_are_finite_at_plus_minus_1000(fn):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        x = np.array([1000.0, -1000.0, 0.0])
        value, g = cr.value_and_grad(fn)(x)
    assert np.all(np.isfinite(value.data)) and np.all(np.isfinite(g.data))


def test_known_values_of_stable_functions():
    x = np.array([1000.0, -1000.0])
    np.testing.assert_allclose(cr.logsumexp(x).data, 1000.0)
    np.testing.assert_allclose(cr.softmax(x).data, [1.0, 0.0])
    np.testing.assert_allclose(cr.softplus(x).data, [1000.0, 0.0])
    np.testing.assert_allclose(cr.sigmoid(x).data, [1.0, 0.0])
    np.testing.assert_allclose(grad_of(lambda x: cr.logsumexp(x), x), [1.0, 0.0])


# ----- errors that teach -----------------------------------------------------------------------


def test_shape_mismatch_names_the_op_and_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(5, 2\) do not align: "
                                         r"4 != 5"):
        cr.ones((3, 4)) @ cr.ones((5, 2))
    with pytest.raises(ValueError, match=r"add: .*\(3,\) float64, \(4,\) float64"):
        cr.ones(3) + cr.ones(4)
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\)"):
        cr.ones((2, 3)).reshape(4, 2)


def test_backward_of_non_scalar_says_what_to_pass():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"output has shape \(3,\); pass grad= of that shape"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"grad has shape \(2,\) but the output has shape"):
        (x * 2).backward(grad=np.ones(2))
    with pytest.raises(TypeError, match="grad: f must return a scalar"):
        cr.grad(lambda x: x * 2)(np.ones(3))


def test_backward_without_graph_explains():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor(1.0).backward()


def test_grad_of_integer_tensor_is_refused():
    with pytest.raises(TypeError, match="dtype int64; differentiate with respect to a float"):
        cr.grad(lambda x: x * 2)(cr.tensor(3))


# ----- scale ---------------------------------------------------------------------------------


def test_chain_of_100000_ops_goes_backward():
    x = cr.tensor(0.5, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_diamond_of_depth_1000_is_fast():
    x = cr.tensor(0.3, requires_grad=True)
    y = x
    for _ in range(1000):
        y = cr.sin(y) + cr.cos(y)
    start = time.perf_counter()
    y.backward()
    elapsed = time.perf_counter() - start
    expected, v = 1.0, 0.3
    for _ in range(1000):
        expected *= math.cos(v) - math.sin(v)
        v = math.sin(v) + math.cos(v)
    assert math.isclose(x.grad.item(), expected, rel_tol=1e-9, abs_tol=1e-300)
    assert elapsed < 1.0


def test_dropping_the_output_releases_the_graph():
    x = cr.tensor(np.ones(100), requires_grad=True)
    y = cr.exp(x) * 2
    z = cr.sum(y * y)
    ref_y, ref_z = weakref.ref(y), weakref.ref(z)
    del y, z
    gc.collect()
    assert ref_y() is None and ref_z() is None


def test_no_reference_cycles_per_node():
    gc.collect()
    gc.disable()
    try:
        x = cr.tensor(np.ones(3), requires_grad=True)
        y = cr.sin(x) * x
        ref = weakref.ref(y)
        del y  # without the collector, only reference counting can free it
        assert ref() is None
    finally:
        gc.enable()


def test_user_primitives_may_be_redefined_but_builtins_are_protected():
    from chainrule.ops._define import defop

    for _ in range(2):  # re-running a notebook cell redefines the same user primitive
        twice = defop("twice_test", lambda x: 2 * x, vjp=lambda g, ans, x: 2 * g, linear=True)
    assert cr.grad(lambda x: twice(x))(1.0).item() == 2.0
    with pytest.raises(ValueError, match="'exp' is built into chainrule"):
        defop("exp", np.exp, vjp=lambda g, ans, x: g, jvp=lambda t, ans, x: t)
