"""The fast paths rules take on large concrete inputs give the same numbers as the general
paths the op table checks on small ones (order 1 and 2)."""

import numpy as np
import pytest

import chainrule as cr


def _grad_and_second(f, x):
    """The gradient of sum(f(x)) and the gradient of sum of that gradient."""
    t = cr.tensor(x, requires_grad=True)
    f(t).sum().backward(create_graph=True)
    g = t.grad
    t.grad = None
    g.sum().backward()
    return g.data, t.grad.data


def test_power_slope_from_the_output_matches_the_power_rule():
    x = np.random.default_rng(0).uniform(0.5, 2.0, (64, 64))  # 4096 entries: the fast path
    g, h = _grad_and_second(lambda t: t ** 3.5, x)
    np.testing.assert_allclose(g, 3.5 * x ** 2.5, rtol=1e-12)
    np.testing.assert_allclose(h, 3.5 * 2.5 * x ** 1.5, rtol=1e-12)


def test_power_slope_falls_back_where_the_output_overflows():
    x = np.full((64, 64), 1e200)
    x[0, 0] = 2.0
    with np.errstate(over="ignore"):   # the value overflows; its slope 2x does not
        g, _ = _grad_and_second(lambda t: t ** 2.0, x)
    assert np.isfinite(g).all()
    np.testing.assert_allclose(g, 2.0 * x, rtol=1e-12)


def test_power_slope_falls_back_at_zero():
    x = np.random.default_rng(1).uniform(0.5, 2.0, (64, 64))
    x[3, 4] = 0.0
    g, _ = _grad_and_second(lambda t: t ** 2.0, x)
    np.testing.assert_allclose(g, 2.0 * x, rtol=1e-12)


def test_prod_gradient_reuses_the_product():
    x = np.random.default_rng(2).uniform(0.9, 1.1, (8, 512))
    t = cr.tensor(x, requires_grad=True)
    cr.prod(t, axis=1).sum().backward()
    np.testing.assert_allclose(t.grad.data, x.prod(axis=1, keepdims=True) / x, rtol=1e-12)


def test_max_shares_ties_on_large_inputs():
    x = np.random.default_rng(3).standard_normal((100, 100))
    x[7, 9] = x[50, 50] = x.max() + 1.0
    t = cr.tensor(x, requires_grad=True)
    t.max().backward()
    want = np.zeros_like(x)
    want[7, 9] = want[50, 50] = 0.5
    np.testing.assert_array_equal(t.grad.data, want)


def test_sigmoid_and_softplus_are_exact_in_both_tails():
    x = np.array([-1000.0, -700.0, -30.0, 0.0, 30.0, 1000.0])
    np.testing.assert_allclose(cr.sigmoid(x).data, np.exp(-np.logaddexp(0, -x)), rtol=4e-15)
    np.testing.assert_allclose(cr.softplus(x).data, np.logaddexp(0, x), rtol=4e-15)
    x32 = np.array([-80.0, -30.0, 0.0, 30.0, 80.0], np.float32)
    assert cr.sigmoid(x32).dtype == np.float32 and cr.softplus(x32).dtype == np.float32
    np.testing.assert_allclose(cr.sigmoid(x32).data, 1 / (1 + np.exp(-x32.astype(float))),
                               rtol=1e-6)
    assert cr.sigmoid(np.float64(0.0)).shape == ()


def _weighted_values_grad(values, a, c):
    """The gradient of sum(c * values(a)) at a."""
    t = cr.tensor(a, requires_grad=True)
    (cr.real(values(t)) * c).sum().backward()
    return t.grad.data


def test_eigenvalues_alone_skip_the_eigenvector_terms():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 6))
    a, c = x @ x.T + np.eye(6), rng.standard_normal(6)
    v = np.linalg.eigh(a)[1]
    sym = (v * c) @ v.T
    want = np.tril(sym) + np.tril(sym.T, -1)   # eigh reads the lower triangle
    for values in (cr.linalg.eigvalsh, lambda t: cr.linalg.eigh(t)[0]):
        np.testing.assert_allclose(_weighted_values_grad(values, a, c), want,
                                   rtol=1e-10, atol=1e-12)
    w, v = np.linalg.eig(x)
    want = np.real(np.linalg.inv(v).T @ (c[:, None] * v.T))
    np.testing.assert_allclose(_weighted_values_grad(cr.linalg.eigvals, x, c), want,
                               rtol=1e-10, atol=1e-12)


def test_singular_values_alone_skip_the_vector_terms():
    rng = np.random.default_rng(5)
    for shape in ((5, 5), (7, 4), (4, 7)):
        a = rng.standard_normal(shape)
        c = rng.standard_normal(min(shape))
        u, _, vh = np.linalg.svd(a, full_matrices=False)
        for values in (cr.linalg.svdvals, lambda t: cr.linalg.svd(t)[1]):
            np.testing.assert_allclose(_weighted_values_grad(values, a, c), (u * c) @ vh,
                                       rtol=1e-10, atol=1e-12)


def test_a_vector_cotangent_that_is_zero_but_recorded_keeps_its_terms():
    # at s = 1 the eigenvectors' cotangent (s - 1) is zero but requires grad: the second
    # derivative comes from the terms it multiplies, so the rule must keep them
    rng = np.random.default_rng(6)
    a, b, c = rng.standard_normal((3, 4, 4))
    a, b = a @ a.T + np.eye(4), b + b.T

    def f(s):
        w, v = cr.linalg.eigh(cr.tensor(a) + s * cr.tensor(b))
        return w.sum() + (v * v * c * (s - 1.0)).sum()

    cr.testing.check_grads(f, (np.array(1.0),), order=2, modes=("rev",))


def test_solve_shares_one_transposed_solve_between_its_inputs():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((5, 5)) + 5 * np.eye(5)
    b, c, g = rng.standard_normal((3, 5, 3))
    gb = np.linalg.solve(a.T, g)
    x = np.linalg.solve(a, b)
    ta, tb = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    cr.linalg.solve(ta, tb).backward(g)
    np.testing.assert_allclose(ta.grad.data, -gb @ x.T, rtol=1e-12)
    np.testing.assert_allclose(tb.grad.data, gb, rtol=1e-12)
    # a's rule alone (b constant), then another solve's b alone: nothing carried over
    ta = cr.tensor(a, requires_grad=True)
    cr.linalg.solve(ta, b).backward(g)
    tc = cr.tensor(c, requires_grad=True)
    cr.linalg.solve(a, tc).backward(g)
    np.testing.assert_allclose(tc.grad.data, gb, rtol=1e-12)
    a2 = a + np.eye(5)
    ta, tb = cr.tensor(a2, requires_grad=True), cr.tensor(b, requires_grad=True)
    cr.grad(lambda p: cr.linalg.solve(ta, p).sum())(tb)
    np.testing.assert_allclose(cr.grad(lambda p: cr.linalg.solve(a2, p).sum())(b).data,
                               np.linalg.solve(a2.T, np.ones((5, 3))), rtol=1e-12)


def test_shared_work_is_not_reused_for_a_seed_written_in_place():
    # b's rule is skipped (only a is a target), so a's shared solve stays behind; the
    # second sweep brings the same seed object with new values
    from chainrule.transforms.reverse import grads_wrt
    rng = np.random.default_rng(8)
    a = rng.standard_normal((4, 4)) + 4 * np.eye(4)
    ta = cr.tensor(a, requires_grad=True)
    tb = cr.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    seed = cr.tensor(rng.standard_normal((4, 2)))
    y = cr.linalg.solve(ta, tb)
    (first,) = grads_wrt([y], [seed], [ta], create_graph=False, retain_graph=True)
    seed[...] = 2 * seed.data
    (second,) = grads_wrt([y], [seed], [ta], create_graph=False, retain_graph=True)
    np.testing.assert_allclose(second.data, 2 * first.data, rtol=1e-12)


def test_pnorm_slope_split_matches_the_ratio_form():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((6, 5))
    for zero in (False, True):
        if zero:
            x[2, 3] = 0.0
        for p in (1.5, 2.5, 3.0, 4.0):
            n = np.sum(np.abs(x) ** p, axis=1, keepdims=True) ** (1 / p)
            want = np.sign(x) * (np.abs(x) / n) ** (p - 1)
            g, h = _grad_and_second(lambda t, p=p: cr.linalg.norm(t, ord=p, axis=1), x)
            np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-15)
            assert np.isfinite(h).all()
    cr.testing.check_grads(lambda t: cr.linalg.norm(t, ord=3, axis=0), (x[:, 1:3] + 0.5,),
                           order=2)


def test_scatter_along_axis_paths_match_add_at():
    from chainrule.ops.sorting import _scatter_along_axis_impl as scatter
    rng = np.random.default_rng(9)

    def add_at(g, idx, axis, shape):
        out = np.zeros(shape, g.dtype)
        grid = list(np.ogrid[tuple(slice(n) for n in idx.shape)])
        grid[axis] = idx
        np.add.at(out, tuple(grid), g)
        return out

    for shape, axis, k in [((4, 5), 1, 5), ((4, 5), 1, 3), ((4, 5), 0, 7), ((3, 4, 5), 2, 9)]:
        at = list(shape)
        at[axis] = k
        perm = np.argsort(rng.random(at), axis=axis) if k == shape[axis] else None
        for idx in (rng.integers(-shape[axis], shape[axis], at), perm):
            for dtype in (np.float64, np.float32, np.complex128):
                if idx is None:
                    continue
                g = rng.standard_normal(at).astype(dtype)
                got = scatter(g, idx, axis, shape)
                assert got.dtype == dtype
                np.testing.assert_allclose(got, add_at(g, idx, axis, shape), rtol=1e-5,
                                           atol=1e-6)
    g = np.ones((2, 3))
    g[0, 0] = np.nan   # a NaN cotangent is not mistaken for an unwritten position
    np.testing.assert_array_equal(scatter(g, np.array([[1, 0, 2], [2, 1, 0]]), 1, (2, 3)),
                                  [[1.0, np.nan, 1.0], [1.0, 1.0, 1.0]])
    for bad in ([[0, 1, 3], [0, 1, 2]], [[0, 0], [0, -4]]):
        try:
            scatter(np.ones(np.shape(bad)), np.array(bad), 1, (2, 3))
        except IndexError:
            continue
        raise AssertionError(f"positions {bad} out of range were accepted")


def test_dropout_gradient_meets_the_forward_mask_also_under_jacrev():
    from chainrule.ops.dropout import dropout_seeded
    x = np.arange(1.0, 9.0)
    kept = dropout_seeded(cr.tensor(x), 0.5, 3).data / x
    for xs in (x, np.where(np.arange(8) == 2, 0.0, x)):   # the mask read, then redrawn
        t = cr.tensor(xs, requires_grad=True)
        dropout_seeded(t, 0.5, 3).sum().backward()
        np.testing.assert_array_equal(t.grad.data, kept)
    jac = cr.jacrev(lambda t: dropout_seeded(t, 0.5, 3))(x)
    np.testing.assert_array_equal(jac.data, np.diag(kept))


def test_prod_gradient_is_exact_at_zeros_and_underflow():
    x = np.random.default_rng(10).uniform(0.5, 2.0, (4, 6))
    x[1, 2] = 0.0
    x[2, :] = 1e-80   # the row's product underflows to 0 with no entry 0
    t = cr.tensor(x, requires_grad=True)
    cr.prod(t, axis=1).sum().backward()
    want = np.array([[np.prod(np.delete(row, j)) for j in range(6)] for row in x])
    np.testing.assert_allclose(t.grad.data, want, rtol=1e-12)


@pytest.mark.parametrize("scipy", [True, False], ids=["scipy", "numpy-only"])
def test_erf_in_blocks_matches_math_erf(scipy, monkeypatch):
    import math

    from chainrule.ops import elementwise
    if not scipy:   # an install without SciPy: chainrule's own blocks of NumPy passes
        monkeypatch.setattr(elementwise, "_SCIPY_ERF", [None])
    x = np.random.default_rng(11).standard_normal(100_003) * 3   # several blocks and a tail
    x[:6] = [np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0]
    got = cr.erf(x).data
    want = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(got, want, rtol=4e-16, atol=0)
    np.testing.assert_array_equal(got[-5:], cr.erf(x[-5:]).data)
    assert np.signbit(got[3]) and np.isnan(cr.erf(np.array([np.nan])).data).all()


def test_attention_rules_share_their_work_for_any_subset_of_inputs():
    from itertools import combinations

    from chainrule.ops._define import as_tensor
    from chainrule.ops.attention import attention_weights
    from chainrule.ops.attention import scaled_dot_product_attention as sdpa
    rng = np.random.default_rng(12)
    qkv = (rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 5, 2)),
           rng.standard_normal((2, 5, 3)))   # 5 keys > 3 values: the recomputing primitive

    def weights(q, k):
        return (attention_weights(as_tensor(q), as_tensor(k), scale=0.7) ** 2).sum()

    for f, args in ((lambda *a: (sdpa(*a) ** 2).sum(), qkv), (weights, qkv[:2])):
        full = cr.grad(f, argnums=tuple(range(len(args))))(*args)
        for n in (1, 2):
            for which in combinations(range(len(args)), n):
                part = cr.grad(f, argnums=which)(*args)
                part = part if isinstance(part, tuple) else (part,)
                for i, g in zip(which, part):
                    np.testing.assert_allclose(g.data, full[i].data, rtol=1e-12, atol=1e-14)


def test_slogdet_factorizes_once_and_its_sign_is_never_stale(monkeypatch):
    a = np.random.default_rng(13).standard_normal((5, 5))
    calls = []
    real_slogdet = np.linalg.slogdet
    monkeypatch.setattr(np.linalg, "slogdet", lambda x: calls.append(1) or real_slogdet(x))
    sign, logabs = cr.linalg.slogdet(cr.tensor(a))
    monkeypatch.undo()
    assert len(calls) == 1
    assert (sign.item(), logabs.item()) == tuple(real_slogdet(a))
    t = cr.tensor(a)
    t[0] = -t.data[0]   # written in place: the next sign is computed again
    assert cr.linalg.slogdet(t)[0].item() == real_slogdet(t.data)[0] == -sign.item()
    assert cr.core.builtin_primitives()["sign_det"](t).item() == -sign.item()


def test_row_lookup_gradient_matches_add_at():
    from chainrule.ops.shape import _scatter_add_impl as scatter
    rng = np.random.default_rng(14)
    for shape, at in (((10, 16), (30,)), ((6, 4, 3), (7, 5)), ((50, 16), (30,)), ((5, 2), (0,))):
        for dtype in (np.float64, np.float32, np.complex128):
            rows = rng.integers(-shape[0], shape[0], at)   # repeats and negatives
            index = (rows,) + (slice(None),) * (len(shape) - 1)
            g = rng.standard_normal(at + shape[1:]).astype(dtype)
            want = np.zeros(shape, dtype)
            np.add.at(want, index, g)
            got = scatter(g, index, shape)
            assert got.dtype == dtype
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    try:
        scatter(np.ones((2, 16)), (np.array([0, 2]), slice(None)), (2, 16))
    except IndexError:
        return
    raise AssertionError("a row out of range was accepted")
