"""Regression tests for results that used to be wrong without an error (issue 12)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

_F32_LOSSES = {
    "maximum": lambda x: cr.maximum(x, 0.0).sum(),
    "minimum": lambda x: cr.minimum(x, 0.5).sum(),
    "max": lambda x: cr.max(x),
    "min": lambda x: cr.min(x),
    "elu": lambda x: F.elu(x).sum(),
    "log2": lambda x: cr.log2(x * x).sum(),
    "log10": lambda x: cr.log10(x * x).sum(),
    "float64 constant": lambda x: (x * np.float64(2.0)).sum(),
    "softmax": lambda x: (cr.softmax(x) * cr.arange(3.0)).sum(),
}


@pytest.mark.parametrize("name", _F32_LOSSES)
def test_a_gradient_has_its_primals_dtype(name):
    f = _F32_LOSSES[name]
    x = cr.tensor(np.array([0.5, -1.0, 2.0], np.float32), requires_grad=True)
    g = cr.grad(f)(x)
    f(x).backward()
    assert g.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(g.data, x.grad.data)


def test_log2_and_log10_of_float32_stay_float32():
    x = np.array([2.0, 8.0], np.float32)
    assert cr.log2(x).dtype == np.float32 and cr.log10(x).dtype == np.float32
    np.testing.assert_allclose(cr.log2(x).data, [1.0, 3.0])


def test_softmax_keeps_precision_where_the_shift_dominates():
    np.testing.assert_allclose(cr.softmax(np.array([-1e30, -1e30])).data, [0.5, 0.5])
    np.testing.assert_allclose(cr.log_softmax(np.array([1e16, 1e16])).data,
                               [-np.log(2.0)] * 2)
    x = np.float32(1000) + np.random.default_rng(0).standard_normal(10).astype(np.float32)
    x64 = x.astype(np.float64)
    ref = (x64 - x64.max()) - np.log(np.exp(x64 - x64.max()).sum())
    got = cr.log_softmax(x)
    assert got.dtype == np.float32
    assert np.abs(got.data - ref).max() < 1e-6


def test_softmax_errors_name_softmax():
    with pytest.raises(ValueError, match="softmax: axis -1"):
        cr.softmax(cr.tensor(1.0))


def test_cross_entropy_differentiates_probability_targets():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((4, 3))
    p = rng.dirichlet(np.ones(3), size=4)
    g = cr.grad(lambda t: F.cross_entropy(cr.tensor(logits), t), argnums=0)(p)
    # loss = -mean_n sum_c p[n, c] log_softmax(logits)[n, c]
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    np.testing.assert_allclose(g.data, -logp / 4, rtol=1e-12)
    cr.testing.check_grads(lambda t: F.cross_entropy(cr.tensor(logits), t), (p,), order=2)


_BAD_ARGUMENTS = {
    "transpose": (lambda x: cr.transpose(x, (0, 5)), ValueError, "transpose: axis 5"),
    "swapaxes": (lambda x: cr.swapaxes(x, 0, 7), ValueError, "swapaxes: axis 7"),
    "moveaxis": (lambda x: cr.moveaxis(x, 5, 0), ValueError, "moveaxis: axis 5"),
    "tensordot": (lambda x: cr.tensordot(x, x, axes=([5], [0])), ValueError, "tensordot"),
    "flatten": (lambda x: F.flatten(x, 5), ValueError, "flatten: axis 5"),
    "cumsum tuple": (lambda x: cr.cumsum(x, axis=(0, 1)), TypeError, "cumsum: an axis"),
    "cumsum bool": (lambda x: cr.cumsum(x, axis=True), TypeError, "cumsum: an axis"),
    "mask length": (lambda x: x[np.array([True, False, True])], IndexError, "boolean mask"),
    "argnums repeated": (lambda x: cr.grad(lambda a: (a * a).sum(), argnums=(0, 0))(x),
                         ValueError, "argnums"),
    "grad of None": (lambda x: cr.grad(lambda a: a)(None), TypeError, "grad: argument 0"),
    "grad of str": (lambda x: cr.grad(lambda a: a * a)("1.5"), TypeError, "grad: argument 0"),
    "str operand": (lambda x: x + "a", TypeError, "add: expected a number"),
    "ufunc without loop": (lambda x: cr.sign(np.array([True])), TypeError, "sign: cannot"),
    "one_hot negative": (lambda x: F.one_hot(np.array([-1, 2]), 3), ValueError, "one_hot"),
}


@pytest.mark.parametrize("name", _BAD_ARGUMENTS)
def test_bad_arguments_raise_errors_naming_the_function(name):
    fn, error, words = _BAD_ARGUMENTS[name]
    x = cr.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(error, match=words):
        fn(x)


def test_sigmoid_of_integers_is_float_as_in_numpy():
    np.testing.assert_allclose(cr.sigmoid(np.array([0, 2])).data, [0.5, 1 / (1 + np.exp(-2))])


def test_an_ndarray_operand_mutated_after_the_forward_pass_does_not_change_the_gradient():
    a = np.ones(3)
    y = cr.tensor(np.ones(3), requires_grad=True)
    z = (y * a).sum() + cr.multiply(a, y).sum()
    a[0] = 100.0
    z.backward()
    np.testing.assert_array_equal(y.grad.data, [2.0, 2.0, 2.0])


def test_vjp_keeps_its_own_copy_of_an_ndarray_primal():
    x = np.array([1.0, 2.0])
    _, vjp_fn = cr.vjp(lambda t: t * t, x)
    x[0] = 100.0
    np.testing.assert_array_equal(vjp_fn(np.ones(2))[0].data, [2.0, 4.0])


def test_a_vjp_rule_returning_the_wrong_shape_is_an_error():
    bad = cr.defop("test_reliability.bad_rule", lambda x: x * 2,
                   vjp=lambda g, ans, x: cr.sum(g), jvp=lambda t, ans, x: t * 2)
    x = cr.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="vjp rule for input 0 returned a cotangent of shape"):
        bad(x).sum().backward()


def test_only_built_in_rules_skip_the_sweeps_shape_check():
    bad = cr.defop("test_reliability.trusted", lambda x: x * 2,
                   vjp=lambda g, ans, x: cr.sum(g), jvp=lambda t, ans, x: t * 2)
    assert not bad.trusted
    assert cr.core.PRIMITIVES["add"].trusted and cr.core.PRIMITIVES["matmul"].trusted
    with cr.detect_anomaly():  # anomaly mode checks every rule, built-in or not
        x = cr.tensor(np.ones(3), requires_grad=True)
        with pytest.raises(ValueError, match="returned a cotangent of shape"):
            bad(x).sum().backward()


def test_python_numbers_take_the_dtype_of_ndarray_and_numpy_scalar_operands():
    # Found by tests/test_fuzz.py: NumPy 2 treats Python numbers as weak next to arrays.
    x32 = np.array(0.4, np.float32)
    assert cr.clip(x32, -0.5, 0.5).dtype == np.float32
    assert cr.maximum(np.float32(1.0), 0.2).dtype == np.float32
    assert cr.where(x32 > 0, x32, 0.0).dtype == np.float32


def test_backward_pauses_the_cyclic_collector_and_restores_it():
    import gc
    seen = []
    x = cr.tensor(np.ones(3), requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: seen.append(gc.isenabled()))
    assert gc.isenabled()
    y.sum().backward()
    assert seen == [False] and gc.isenabled()   # off during the sweep, back on after it
    bad = cr.defop("test_reliability.raises", lambda x: x * 2,
                   vjp=lambda g, ans, x: 1 / 0, jvp=lambda t, ans, x: t * 2)
    with pytest.raises(ZeroDivisionError):
        bad(x).sum().backward()
    assert gc.isenabled()                       # restored when a rule raises
    gc.disable()
    try:
        (x * 3).sum().backward()
        assert not gc.isenabled()               # a user's own gc.disable() is kept
    finally:
        gc.enable()


def test_each_leaf_grad_is_its_own_writable_array():
    # add hands one cotangent to both inputs and sum's is a read-only broadcast view: the
    # leaves' .grad must still be separate arrays that in-place tools may write.
    x = cr.tensor(np.ones(3), requires_grad=True)
    y = cr.tensor(np.ones(3), requires_grad=True)
    (x + y).sum().backward()
    assert x.grad.data is not y.grad.data and x.grad.data.flags.writeable
    cr.nn.utils.clip_grad_norm_([x, y], 0.1)
    np.testing.assert_allclose(x.grad.data, y.grad.data)
    np.testing.assert_allclose(np.sqrt(2 * np.sum(x.grad.data ** 2)), 0.1, rtol=1e-6)
    x.grad.zero_()
    assert np.all(y.grad.data > 0)   # zeroing x.grad left y.grad alone


def test_a_leaf_grad_never_holds_the_callers_seed():
    # add passes its cotangent through, so the grad= array would reach x.grad as it is
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    seed = cr.tensor(np.ones(2))
    (x + 0.0).backward(seed)
    assert x.grad is not seed and not np.shares_memory(x.grad.data, seed.data)
    x.grad.zero_()
    np.testing.assert_array_equal(seed.data, [1.0, 1.0])
