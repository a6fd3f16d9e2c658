"""Forward mode, Jacobians in either mode, Hessians, nesting of any order, constants."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.transforms import api


def d_fwd(f):
    """Derivative of a scalar function by forward mode."""
    return lambda x: cr.jvp(f, (x,), (cr.ones_like(x),))[1]


def d_rev(f):
    """Derivative of a scalar function by reverse mode."""
    return cr.grad(f)


D = {"fwd": d_fwd, "rev": d_rev}
PAIRS = [(o, i) for o in D for i in D]


def _fd(f, x, eps=1e-6):
    """Jacobian of an ndarray function by central differences."""
    x = np.asarray(x, float)
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = eps
        e = e.reshape(x.shape)
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps))
    return np.stack(cols, axis=-1).reshape(np.shape(f(x)) + x.shape)


# ----- forward mode and nesting --------------------------------------------------------

def test_jvp_gives_value_and_directional_derivative():
    out, tan = cr.jvp(lambda x, y: x * cr.sin(y), (2.0, 0.5), (1.0, 3.0))
    assert out.item() == pytest.approx(2 * math.sin(0.5))
    assert tan.item() == pytest.approx(math.sin(0.5) + 2 * math.cos(0.5) * 3)


def test_jvp_checks_tangent_shapes():
    with pytest.raises(ValueError, match="tangent 0 has shape"):
        cr.jvp(cr.sin, (np.ones(3),), (np.ones(2),))


@pytest.mark.parametrize("outer, inner", PAIRS)
def test_nesting_never_confuses_perturbations(outer, inner):
    Do, Di = D[outer], D[inner]
    one = cr.tensor(1.0)
    f = lambda x: x * Di(lambda y: x + y)(one)  # noqa: E731
    assert Do(f)(cr.tensor(1.0)).item() == pytest.approx(1.0)
    g = lambda x: x * Di(lambda y: x * y)(one)  # noqa: E731
    assert Do(g)(cr.tensor(4.0)).item() == pytest.approx(8.0)


@pytest.mark.parametrize("modes", ["ffff", "rrrr", "frfr", "rffr", "rrff"])
def test_fourth_derivative_of_x4_is_24_in_any_mix_of_modes(modes):
    f = lambda x: x ** 4  # noqa: E731
    for m in modes:
        f = D["fwd" if m == "f" else "rev"](f)
    assert f(cr.tensor(1.7)).item() == pytest.approx(24.0)


@pytest.mark.parametrize("modes", ["fff", "rrr", "frf", "rfr"])
def test_third_derivative_of_sin_at_0_is_minus_1(modes):
    f = cr.sin
    for m in modes:
        f = D["fwd" if m == "f" else "rev"](f)
    assert f(cr.tensor(0.0)).item() == pytest.approx(-1.0)


def sinc(x):
    """Normalized sinc, smooth at 0: a Taylor branch there, the double `where` elsewhere."""
    small = cr.abs(x) < 1e-3
    safe = cr.where(small, 1.0, x) * math.pi
    z = x * math.pi
    return cr.where(small, 1 - z * z / 6 + z ** 4 / 120, cr.sin(safe) / safe)


def test_second_derivative_of_normalized_sinc_at_0():
    want = -math.pi ** 2 / 3
    assert cr.grad(cr.grad(sinc))(0.0).item() == pytest.approx(want)
    assert d_fwd(d_rev(sinc))(cr.tensor(0.0)).item() == pytest.approx(want)
    assert cr.hessian(sinc)(0.0).item() == pytest.approx(want)
    x = 0.37   # and the general branch agrees with finite differences
    fd = (np.sinc(x + 1e-4) - 2 * np.sinc(x) + np.sinc(x - 1e-4)) / 1e-8
    assert cr.hessian(sinc)(x).item() == pytest.approx(fd, rel=1e-5)


# ----- Hessians and HVPs ------------------------------------------------------------------

def test_hessian_of_x2y_plus_y3_at_1_2():
    f = lambda v: v[0] ** 2 * v[1] + v[1] ** 3  # noqa: E731
    h = cr.hessian(f)(cr.tensor([1.0, 2.0])).data
    np.testing.assert_allclose(h, [[4.0, 2.0], [2.0, 12.0]])
    np.testing.assert_array_equal(h, h.T)
    blocks = cr.hessian(lambda x, y: x ** 2 * y + y ** 3, argnums=(0, 1))(1.0, 2.0)
    np.testing.assert_allclose([[b.item() for b in row] for row in blocks], [[4, 2], [2, 12]])


def _mlp(seed=0, n=6, h=5, m=3):
    rng = np.random.default_rng(seed)
    A, B = cr.tensor(rng.standard_normal((m, h))), cr.tensor(rng.standard_normal((h, n)))
    return lambda x: cr.tanh(A @ cr.tanh(B @ x)), rng.standard_normal(n)


def test_hessian_agrees_with_every_composition_and_finite_differences():
    net, x = _mlp()
    f = lambda v: (net(v) ** 2).sum() + cr.sin(v).prod()  # noqa: E731
    h = cr.hessian(f)(x).data
    for jac_of_jac in (cr.jacrev(cr.jacrev(f)), cr.jacfwd(cr.jacfwd(f)),
                       cr.jacrev(cr.jacfwd(f))):
        np.testing.assert_allclose(jac_of_jac(x).data, h, atol=1e-12)
    np.testing.assert_allclose(h, h.T, atol=1e-12)
    fd = _fd(lambda v: cr.grad(f)(v).data, x)
    np.testing.assert_allclose(h, fd, atol=1e-6)


def test_hvp_equals_hessian_times_vector_without_forming_it(monkeypatch):
    net, x = _mlp(1)
    f = lambda v: (net(v) ** 2).sum()  # noqa: E731
    v = np.random.default_rng(2).standard_normal(x.shape)
    want = cr.hessian(f)(x).data @ v
    monkeypatch.setattr(api, "jacfwd", None)   # hvp must not go through a Jacobian
    monkeypatch.setattr(api, "jacrev", None)
    np.testing.assert_allclose(cr.hvp(f, (x,), (v,)).data, want, atol=1e-12)


def test_hvp_in_1000_dimensions():
    x = np.linspace(-1, 1, 1000)
    v = np.cos(np.arange(1000.0))
    got = cr.hvp(lambda z: (cr.sin(z) * z).sum(), (x,), (v,))
    np.testing.assert_allclose(got.data, (2 * np.cos(x) - x * np.sin(x)) * v, atol=1e-12)


def test_third_order_jacobian_against_finite_differences():
    f = lambda v: cr.sin(v[0] * v[1]) * v  # noqa: E731
    x = np.array([0.3, -0.7])
    j3 = cr.jacfwd(cr.jacrev(cr.jacfwd(f)))(x).data
    assert j3.shape == (2, 2, 2, 2)
    fd = _fd(lambda z: cr.jacfwd(cr.jacrev(f))(z).data, x)
    np.testing.assert_allclose(j3, fd, atol=1e-6)


# ----- Jacobians ---------------------------------------------------------------------------

@pytest.mark.parametrize("jac", [cr.jacfwd, cr.jacrev, cr.jacobian])
def test_jacobian_shapes_values_and_argnums(jac):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 3)), rng.standard_normal(4)
    f = lambda x, y: cr.tanh(x)[..., None] * cr.sin(y)  # (2, 3, 4)  # noqa: E731
    jx = jac(f)(x, y)
    assert jx.shape == (2, 3, 4, 2, 3)
    np.testing.assert_allclose(jx.data, _fd(lambda a: f(cr.tensor(a), y).data, x), atol=1e-8)
    jx2, jy = jac(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(jx2.data, jx.data)
    assert jy.shape == (2, 3, 4, 4)
    np.testing.assert_allclose(jy.data, _fd(lambda b: f(x, cr.tensor(b)).data, y), atol=1e-8)


@pytest.mark.parametrize("jac", [cr.jacfwd, cr.jacrev])
def test_jacobian_of_a_tuple_output_and_a_scalar_input(jac):
    a, b = jac(lambda x: (x * x, cr.stack([x, 2 * x])))(3.0)
    assert a.item() == pytest.approx(6.0)
    np.testing.assert_allclose(b.data, [1.0, 2.0])


def test_jacobians_take_one_batched_sweep_not_one_per_basis_vector(monkeypatch):
    calls = {"jvp": 0, "vjp": 0}
    tanh = cr.PRIMITIVES["tanh"]
    jvp_rule, vjp_rule = tanh.jvp[0], tanh.vjp[0]

    def counted_jvp(*a, **k):
        calls["jvp"] += 1
        return jvp_rule(*a, **k)

    def counted_vjp(*a, **k):
        calls["vjp"] += 1
        return vjp_rule(*a, **k)

    monkeypatch.setattr(tanh, "jvp", (counted_jvp,))
    monkeypatch.setattr(tanh, "vjp", (counted_vjp,))
    net, _ = _mlp(n=40, h=30, m=20)
    x = np.ones(40)
    assert cr.jacfwd(net)(x).shape == (20, 40) and calls["jvp"] == 2
    assert cr.jacrev(net)(x).shape == (20, 40) and calls["vjp"] == 2


def test_jacobian_picks_the_cheaper_mode():
    wide, _ = _mlp(n=50, h=8, m=3)     # R^50 -> R^3: reverse
    tall, _ = _mlp(n=3, h=8, m=50)     # R^3 -> R^50: forward
    assert cr.jacobian(wide).choose_mode(np.ones(50)) == "rev"
    assert cr.jacobian(tall).choose_mode(np.ones(3)) == "fwd"
    for net, n in ((wide, 50), (tall, 3)):
        x = np.linspace(-1, 1, n)
        auto = cr.jacobian(net)(x).data
        np.testing.assert_allclose(auto, cr.jacobian(net, mode="fwd")(x).data, atol=1e-12)
        np.testing.assert_allclose(auto, cr.jacobian(net, mode="rev")(x).data, atol=1e-12)
    with pytest.raises(ValueError, match="mode must be"):
        cr.jacobian(wide, mode="sideways")


# ----- constants ---------------------------------------------------------------------------

def test_stop_gradient_in_both_modes_and_orders():
    f = lambda x: x * cr.stop_gradient(x)  # noqa: E731
    assert cr.grad(f)(3.0).item() == 3.0
    assert d_fwd(f)(cr.tensor(3.0)).item() == 3.0
    assert cr.grad(cr.grad(f))(3.0).item() == 0.0
    assert cr.jacfwd(f)(cr.tensor([3.0, 1.0])).data.tolist() == [[3.0, 0.0], [0.0, 1.0]]


def test_no_grad_records_nothing_but_tangents_still_flow():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.no_grad():
        y = (x * x).sum()
        _, tan = cr.jvp(lambda v: (v * v).sum(), (x,), (np.ones(2),))
    assert not y.requires_grad and y.is_leaf
    assert tan.item() == 6.0


def test_hvp_runs_each_rule_a_constant_number_of_times(monkeypatch):
    calls = []
    tanh = cr.PRIMITIVES["tanh"]
    rule = tanh.vjp[0]
    monkeypatch.setattr(tanh, "vjp", (lambda *a, **k: calls.append(1) or rule(*a, **k),))
    net, _ = _mlp(n=1000, h=20, m=5)
    cr.hvp(lambda v: net(v).sum(), (np.ones(1000),), (np.ones(1000),))
    assert len(calls) == 2    # one reverse sweep (two tanh nodes), tangents ride along


def test_one_jacobian_layout_jaxs_whatever_the_mode():
    """J[output][argnum], each block out.shape + arg.shape; Hessian blocks x_i + x_j."""
    x0, x1 = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])

    def f(a, b):
        return a * a, cr.sum(b) * a, cr.sum(a) * b

    layouts = []
    for jac in (cr.jacfwd, cr.jacrev, cr.jacobian,
                lambda f, argnums: cr.jacobian(f, argnums, mode="fwd"),
                lambda f, argnums: cr.jacobian(f, argnums, mode="rev")):
        J = jac(f, argnums=(0, 1))(x0, x1)
        layouts.append([[tuple(block.shape) for block in row] for row in J])
        np.testing.assert_allclose(J[2][0].data, np.outer(x1, np.ones(2)))
        np.testing.assert_allclose(J[1][1].data, np.outer(x0, np.ones(3)))
    assert all(layout == [[(2, 2), (2, 3)], [(2, 2), (2, 3)], [(3, 2), (3, 3)]]
               for layout in layouts)
    H = cr.hessian(lambda a, b: cr.sum(a * a) * cr.sum(b ** 3), argnums=(0, 1))(x0, x1)
    assert [[tuple(b.shape) for b in row] for row in H] == [[(2, 2), (2, 3)], [(3, 2), (3, 3)]]
    np.testing.assert_allclose(H[0][1].data, np.outer(2 * x0, 3 * x1 ** 2))
    np.testing.assert_allclose(H[1][0].data, np.outer(3 * x1 ** 2, 2 * x0))
