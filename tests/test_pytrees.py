"""Pytrees: nested tuples, lists and dicts as arguments and results of the transforms."""

import numpy as np
import pytest

import chainrule as cr

W, B, X = np.ones((2, 3)), np.zeros(2), np.arange(3.0)


def loss(p, x):
    return cr.sum(cr.tanh(p["W"] @ x + p["b"]) ** 2)


def test_grad_of_a_dict_of_parameters_has_their_structure():
    g = cr.grad(loss)({"W": W, "b": B}, X)
    h = 2 * np.tanh(W @ X + B) * (1 - np.tanh(W @ X + B) ** 2)
    assert set(g) == {"W", "b"}
    np.testing.assert_allclose(g["W"].data, np.outer(h, X))
    np.testing.assert_allclose(g["b"].data, h)


def test_a_list_of_arrays_is_a_pytree_never_stacked():
    g = cr.grad(lambda ps: ps[0].sum() * ps[1].sum())([np.ones(2), np.ones(3)])
    assert isinstance(g, list) and [t.shape for t in g] == [(2,), (3,)]
    np.testing.assert_allclose(g[0].data, [3.0, 3.0])
    value, (g0, g1) = cr.value_and_grad(lambda a, b: cr.sum(a["x"]) * b, argnums=(0, 1))(
        {"x": np.ones(2)}, 2.0)
    assert value.item() == 4.0 and g0["x"].data.tolist() == [2.0, 2.0] and g1.item() == 2.0


def test_vjp_jvp_and_jacobians_take_and_return_pytrees():
    out, vjp_fn = cr.vjp(lambda p: {"y": p["a"] * 2, "z": cr.sum(p["a"])}, {"a": np.ones(3)})
    assert set(out) == {"y", "z"}
    (ct,) = vjp_fn({"y": np.ones(3), "z": np.array(1.0)})
    np.testing.assert_allclose(ct["a"].data, [3.0, 3.0, 3.0])
    _, t = cr.jvp(lambda p: p["a"] * p["b"], ({"a": np.ones(2), "b": np.full(2, 3.0)},),
                  ({"a": np.ones(2), "b": np.zeros(2)},))
    np.testing.assert_allclose(t.data, [3.0, 3.0])
    for jac in (cr.jacfwd, cr.jacrev):
        J = jac(lambda p: {"o": p["a"] * 2})({"a": np.ones(2)})
        np.testing.assert_allclose(J["o"]["a"].data, 2 * np.eye(2))
    H = cr.hessian(lambda p: cr.sum(p["a"] ** 2 * p["b"]))({"a": np.ones(2), "b": np.ones(2)})
    np.testing.assert_allclose(H["a"]["b"].data, 2 * np.eye(2))
    np.testing.assert_allclose(H["b"]["b"].data, np.zeros((2, 2)))


def test_vmap_in_axes_as_pytrees_gives_per_example_gradients():
    p = {"W": W, "b": B}
    xs = np.arange(12.0).reshape(4, 3)
    per_example = cr.vmap(cr.grad(loss), in_axes=(None, 0))(p, xs)
    assert per_example["W"].shape == (4, 2, 3) and per_example["b"].shape == (4, 2)
    np.testing.assert_allclose(per_example["W"].data[2], cr.grad(loss)(p, xs[2])["W"].data)
    out = cr.vmap(lambda q: q["a"] * q["s"], in_axes=({"a": 0, "s": None},))(
        {"a": np.ones((5, 2)), "s": np.array(3.0)})
    np.testing.assert_allclose(out.data, np.full((5, 2), 3.0))


def test_tree_utilities():
    tree = {"b": [1, (2, None)], "a": 3}
    leaves, treedef = cr.tree_flatten(tree)
    assert leaves == [3, 1, 2] and treedef.num_leaves == 3   # dict keys in sorted order
    assert cr.tree_unflatten(treedef, [30, 10, 20]) == {"a": 30, "b": [10, (20, None)]}
    assert cr.tree_leaves(tree) == [3, 1, 2]
    assert cr.tree_map(lambda a, b: a + b, {"x": 1, "y": [2]}, {"x": 10, "y": [20]}) == {
        "x": 11, "y": [22]}
    with pytest.raises(ValueError, match="different structures"):
        cr.tree_map(lambda a, b: a, {"x": 1}, {"y": 1})


def test_a_leaf_that_is_not_an_array_is_an_error_naming_argument_and_type():
    with pytest.raises(TypeError, match="grad: argument 0 holds a str"):
        cr.grad(lambda p: cr.sum(p["a"]))({"a": "text"})
    with pytest.raises(ValueError, match="vmap: in_axes entry"):
        cr.vmap(lambda p: p["a"], in_axes=([0, 0],))({"a": np.ones((2, 2))})


def test_custom_rules_take_pytree_inputs():
    @cr.custom_vjp
    def f(p):
        return cr.sum(p["a"] * 2) + cr.sum(p["b"] ** 2)

    f.defvjp(lambda g, ans, p: {"a": g * 2 * cr.ones(2), "b": g * 2 * p["b"]})
    g = cr.grad(f)({"a": np.ones(2), "b": np.array([1.0, 2.0, 3.0])})
    assert g["a"].data.tolist() == [2.0, 2.0] and g["b"].data.tolist() == [2.0, 4.0, 6.0]
    _, t = cr.jvp(f, ({"a": np.ones(2), "b": np.ones(3)},),
                  ({"a": np.ones(2), "b": np.zeros(3)},))
    assert t.item() == 4.0

    @cr.custom_jvp
    def h(p):
        return cr.sum(p[0] * p[1])

    h.defjvp(lambda t, ans, p: cr.sum(t[0] * p[1] + p[0] * t[1]))
    g0, g1 = cr.grad(h)([np.array([1.0, 2.0]), np.array([3.0, 4.0])])
    assert g0.data.tolist() == [3.0, 4.0] and g1.data.tolist() == [1.0, 2.0]


def test_checkpoint_and_jit_take_pytrees():
    f = cr.checkpoint(lambda p: cr.sum(p["a"] * p["b"]))
    g = cr.grad(f)({"a": np.ones(2), "b": np.full(2, 3.0)})
    assert g["a"].data.tolist() == [3.0, 3.0] and g["b"].data.tolist() == [1.0, 1.0]
    assert cr.jit(lambda p: cr.sum(p["a"] ** 2))({"a": np.ones(3)}).item() == 3.0
