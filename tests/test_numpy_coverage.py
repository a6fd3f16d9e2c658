"""The NumPy functions of issue 10 (part A): NumPy's values, vmap = a loop, conventions."""

import warnings

import numpy as np
import pytest

import chainrule as cr

rng = np.random.default_rng(3)
X = rng.standard_normal((3, 4))
V = rng.standard_normal(4)
X3 = rng.standard_normal((2, 3, 4))
P = rng.uniform(0.5, 2.0, (3, 4))
XN = X.copy()
XN[0, 1] = XN[2, 0] = np.nan

# (name, function of arrays applied to both libraries' function, arguments)
SAME_AS_NUMPY = [
    ("ravel", lambda m, x: m.ravel(x), (X3,)),
    ("atleast_3d", lambda m, x: m.atleast_3d(x), (V,)),
    ("vstack", lambda m, x, v: m.vstack([x, v]), (X, V)),
    ("hstack", lambda m, x: m.hstack([x, x]), (X,)),
    ("column_stack", lambda m, v: m.column_stack([v, v]), (V,)),
    ("dstack", lambda m, x: m.dstack([x, x]), (X,)),
    ("append", lambda m, x, v: m.append(x, v), (X, V)),
    ("array_split", lambda m, x: m.array_split(x, 3, axis=1)[2], (X,)),
    ("rot90", lambda m, x: m.rot90(x, 1, axes=(1, 2)), (X3,)),
    ("roll", lambda m, x: m.roll(x, (1, -3), axis=(0, 2)), (X3,)),
    ("repeat", lambda m, x: m.repeat(x, 2, axis=1), (X,)),
    ("tile", lambda m, x: m.tile(x, (2, 1, 2)), (X,)),
    ("diag", lambda m, v: m.diag(v, -2), (V,)),
    ("diagonal", lambda m, x: m.diagonal(x, -1, 2, 1), (X3,)),
    ("trace", lambda m, x: m.trace(x, 1), (X,)),
    ("tril", lambda m, x: m.tril(x, 1), (X3,)),
    ("triu", lambda m, x: m.triu(x, -1), (X,)),
    ("kron", lambda m, x, v: m.kron(x, v), (X, V)),
    ("inner", lambda m, x3, v: m.inner(x3, v), (X3, V)),
    ("cross", lambda m, x, y: m.cross(x[:, :3], y[:, 1:]), (X, P)),
    ("diff", lambda m, x: m.diff(x, 2, axis=0, append=1.0), (X,)),
    ("sort", lambda m, x: m.sort(x, axis=0), (X,)),
    ("partition", lambda m, v: m.partition(v, 1), (V,)),
    ("cumprod", lambda m, x: m.cumprod(x, axis=1), (X,)),
    ("select", lambda m, x: m.select([x > 0.5, x < 0], [x, x * x], 7.0), (X,)),
    ("median", lambda m, x: m.median(x, axis=1), (X,)),
    ("quantile", lambda m, x: m.quantile(x, [0.2, 0.75], axis=0, method="nearest"), (X,)),
    ("percentile", lambda m, x: m.percentile(x, 42, axis=(0, 2), keepdims=True), (X3,)),
    ("nansum", lambda m, x: m.nansum(x, axis=0), (XN,)),
    ("nanmean", lambda m, x: m.nanmean(x, axis=1), (XN,)),
    ("nanmax", lambda m, x: m.nanmax(x, axis=0), (XN,)),
    ("nanmin", lambda m, x: m.nanmin(x), (XN,)),
    ("nanprod", lambda m, x: m.nanprod(x, axis=1), (XN,)),
    ("nanvar", lambda m, x: m.nanvar(x, axis=1, ddof=1), (XN,)),
    ("nanstd", lambda m, x: m.nanstd(x, axis=0), (XN,)),
    ("nancumsum", lambda m, x: m.nancumsum(x, axis=1), (XN,)),
    ("nancumprod", lambda m, x: m.nancumprod(x, axis=0), (XN,)),
    ("nanmedian", lambda m, x: m.nanmedian(x, axis=1), (XN,)),
    ("nanquantile", lambda m, x: m.nanquantile(x, 0.4, axis=0), (XN,)),
    ("nanpercentile", lambda m, x: m.nanpercentile(x, [10, 90]), (XN,)),
    ("einsum", lambda m, x, p: m.einsum(x, [0, 1], p, [2, 1], [2, 0]), (X, P)),
    ("linspace", lambda m, v, p: m.linspace(v, p[0], 6, axis=1), (V, P)),
    ("remainder", lambda m, x, p: m.remainder(x, p), (X, P)),
    ("mod", lambda m, x, p: m.mod(-x, p), (X, P)),
    ("fmod", lambda m, x, p: m.fmod(x * 3, p), (X, P)),
    ("hypot", lambda m, x, v: m.hypot(x, v), (X, V)),
    ("logaddexp", lambda m, x, v: m.logaddexp(x * 800, v), (X, V)),
    ("logaddexp2", lambda m, x, v: m.logaddexp2(x, v * 900), (X, V)),
    ("exp2", lambda m, x: m.exp2(x), (X,)),
    ("reciprocal", lambda m, p: m.reciprocal(p), (P,)),
    ("fabs", lambda m, x: m.fabs(x), (X,)),
    ("fmax", lambda m, x, y: m.fmax(x, y.T[:3]), (XN, X.T)),
    ("fmin", lambda m, x, y: m.fmin(y.T[:3], x), (XN, X.T)),
    ("arcsinh", lambda m, x: m.arcsinh(x), (X,)),
    ("arccosh", lambda m, p: m.arccosh(p + 1), (P,)),
    ("arctanh", lambda m, x: m.arctanh(x / 3), (X,)),
    ("sinc", lambda m, x: m.sinc(x * np.array([0.0, 1e-3, 1.0, 20.0])), (X,)),
    ("deg2rad", lambda m, x: m.deg2rad(x), (X,)),
    ("rad2deg", lambda m, x: m.rad2deg(x), (X,)),
    ("nan_to_num", lambda m, x: m.nan_to_num(x / np.array([1.0, 0.0, -0.0, 1.0])), (X,)),
    ("trunc", lambda m, x: m.trunc(x * 3), (X,)),
    ("round", lambda m, x: m.round(x * 10, 1), (X,)),
    ("floor_divide", lambda m, x, p: m.floor_divide(x, p), (X, P)),
    ("cbrt", lambda m, x: m.cbrt(x), (X,)),
    ("copysign", lambda m, x, v: m.copysign(x, v), (X, V)),
    ("float_power", lambda m, p, v: m.float_power(p, v), (P, V)),
    ("heaviside", lambda m, x: m.heaviside(m.floor(x), 0.5), (X,)),
    ("gradient", lambda m, x: m.gradient(x, 0.5, axis=1, edge_order=2), (X,)),
    ("trapezoid", lambda m, x, v: m.trapezoid(x, v, axis=1), (X, V)),
    ("average", lambda m, x, p: m.average(x, axis=0, weights=p), (X, P)),
    ("ptp", lambda m, x: m.ptp(x, axis=1), (X,)),
    ("meshgrid", lambda m, v, x: m.meshgrid(v, x[0], indexing="ij")[1], (V, X)),
    ("cumulative_sum", lambda m, x: m.cumulative_sum(x, axis=1, include_initial=True), (X,)),
    ("cumulative_prod", lambda m, v: m.cumulative_prod(v), (V,)),
    ("vecdot", lambda m, x, v: m.vecdot(x, v), (X, V)),
    ("matvec", lambda m, x, v: m.matvec(x, v), (X, V)),
    ("vecmat", lambda m, x, v: m.vecmat(v[:3], x), (X, V)),
    ("unstack", lambda m, x: m.unstack(x, axis=1)[2], (X,)),
    ("matrix_transpose", lambda m, x: m.matrix_transpose(x), (X3,)),
    ("permute_dims", lambda m, x: m.permute_dims(x, (2, 0, 1)), (X3,)),
    ("concat", lambda m, x: m.concat([x, x], axis=1), (X,)),
    ("amax", lambda m, x: m.amax(x, axis=1), (X,)),
    ("true_divide", lambda m, x, p: m.true_divide(x, p), (X, P)),
    ("argmax", lambda m, x: m.argmax(x, axis=0), (X,)),
    ("all", lambda m, x: m.all(x > -1, axis=1), (X,)),
    ("any", lambda m, x: m.any(x > 1, axis=0, keepdims=True), (X,)),
    ("count_nonzero", lambda m, x: m.count_nonzero(x > 0, axis=1), (X,)),
    ("isclose", lambda m, x, p: m.isclose(x, p, atol=1.0), (X, P)),
    ("signbit", lambda m, x: m.signbit(x), (X,)),
    ("argmin", lambda m, x: m.argmin(x), (X,)),
    ("argsort", lambda m, x: m.argsort(x, axis=1), (X,)),
]


def _data(out):
    if isinstance(out, (list, tuple)):
        return [_data(o) for o in out]
    return out.data if isinstance(out, cr.Tensor) else out


@pytest.mark.parametrize("name, fn, args", SAME_AS_NUMPY, ids=[c[0] for c in SAME_AS_NUMPY])
def test_values_are_numpy_values(name, fn, args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = fn(np, *args)
        got = _data(fn(cr, *args))
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-300)
    assert np.shape(got) == np.shape(expected)


@pytest.mark.parametrize("name, fn, args", [c for c in SAME_AS_NUMPY if not c[0].startswith(
    ("nan", "arg"))], ids=[c[0] for c in SAME_AS_NUMPY if not c[0].startswith(("nan", "arg"))])
def test_vmap_is_a_loop(name, fn, args):
    batch = [np.stack([a * (1 + 0.1 * i) for i in range(3)]) for a in args]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mapped = cr.vmap(lambda *xs: fn(cr, *xs))(*batch)
        loop = [fn(cr, *[b[i] for b in batch]) for i in range(3)]
    np.testing.assert_allclose(_data(mapped), np.stack([_data(out) for out in loop]),
                               rtol=1e-13)


def test_vmap_of_argmax_and_nan_reductions():
    batch = np.stack([XN, X, XN * 2])
    for f in (lambda x: cr.argmax(x, axis=1), cr.nanmean, lambda x: cr.nanmedian(x, axis=0),
              lambda x: cr.argsort(x, axis=0)):
        mapped = cr.vmap(f)(batch).data
        np.testing.assert_array_equal(mapped, np.stack([f(b).data for b in batch]))


def test_vmap_of_grad_through_sort_uses_each_examples_permutation():
    batch = rng.standard_normal((4, 5))
    weights = np.arange(5.0)
    g = cr.vmap(cr.grad(lambda x: cr.sum(cr.sort(x) * weights)))(batch)
    np.testing.assert_array_equal(g.data, np.argsort(np.argsort(batch, axis=1), axis=1))


def test_sort_and_median_ties_follow_the_stable_order():
    x = np.array([2.0, 1.0, 2.0, 0.0])
    g = cr.grad(lambda x: cr.sum(cr.sort(x) * np.array([0.0, 1.0, 2.0, 3.0])))(x)
    assert g.data.tolist() == [2.0, 1.0, 3.0, 0.0]   # the first 2.0 sorts before the second
    assert cr.grad(cr.median)(np.array([3.0, 1.0, 2.0, 2.0])).data.tolist() == [
        0.0, 0.0, 0.5, 0.5]


def test_quantile_gradient_interpolates_between_neighbours():
    g = cr.grad(lambda x: cr.quantile(x, 0.25))(np.array([4.0, 1.0, 3.0, 2.0, 0.0]))
    assert g.data.tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]   # position 1 exactly: the 1.0
    g = cr.grad(lambda x: cr.quantile(x, 0.3))(np.array([4.0, 1.0, 3.0, 2.0, 0.0]))
    np.testing.assert_allclose(g.data, [0.0, 0.8, 0.0, 0.2, 0.0])


def test_remainder_and_hypot_conventions():
    assert cr.grad(lambda y: cr.mod(7.5, y))(2.0).item() == -3.0   # -floor(x / y)
    assert cr.grad(lambda y: cr.fmod(-7.5, y))(2.0).item() == 3.0  # -trunc(x / y)
    dx, dy = cr.grad(cr.hypot, argnums=(0, 1))(0.0, 0.0)
    assert (dx.item(), dy.item()) == (0.0, 0.0)
    assert cr.grad(cr.grad(cr.sinc))(0.0).item() == pytest.approx(-np.pi ** 2 / 3, rel=1e-12)
    assert cr.grad(cr.sinc)(0.0).item() == 0.0


def test_rounding_has_derivative_zero_and_arg_functions_are_integer():
    for f in (cr.floor, cr.ceil, cr.round, cr.trunc, cr.rint, cr.fix):
        assert cr.grad(f)(2.3).item() == 0.0
    i = cr.argmax(np.array([1.0, 3.0, 2.0]))
    assert i.dtype.kind == "i" and i.item() == 1 and not i.requires_grad
    with pytest.raises(TypeError, match="not differentiable"):
        cr.grad(lambda x: cr.argmax(x))(np.ones(3))


def test_nonzero_and_one_argument_where():
    mask = np.array([[0, 1], [1, 1]])
    for got, want in zip(cr.where(mask), np.nonzero(mask)):
        np.testing.assert_array_equal(got.data, want)
    np.testing.assert_array_equal(cr.argwhere(mask).data, np.argwhere(mask))
    np.testing.assert_array_equal(cr.flatnonzero(mask).data, np.flatnonzero(mask))
    with pytest.raises(TypeError, match="data-dependent"):
        cr.vmap(cr.nonzero)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="both x and y"):
        cr.where(mask, 1.0)


def test_lists_of_tensors_are_arrays():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    out = cr.mean([a, [3.0, 4.0]])
    out.backward()
    assert out.item() == 2.5 and a.grad.data.tolist() == [0.25, 0.25]
    assert cr.sum([[a[0], 1.0], [2.0, a[1]]]).item() == 6.0
    with pytest.raises(ValueError, match=r"shapes \(2,\), \(3,\)"):
        cr.mean([a, cr.ones(3)])


def test_linspace_is_differentiable_in_its_endpoints():
    d_start, d_stop = cr.grad(lambda a, b: cr.sum(cr.linspace(a, b, 5)), argnums=(0, 1))(
        cr.tensor(0.0), cr.tensor(1.0))
    assert (d_start.item(), d_stop.item()) == (2.5, 2.5)
    y, step = cr.linspace(cr.tensor(0.0), 1.0, 5, retstep=True)
    assert step.item() == 0.25 and y.data.tolist() == np.linspace(0, 1, 5).tolist()


def test_nanargmax_of_an_all_nan_slice_is_an_error():
    with pytest.raises(ValueError, match="only NaN"):
        cr.nanargmax(np.array([[np.nan, np.nan], [1.0, 2.0]]), axis=1)


def test_nan_entries_get_gradient_zero():
    x = np.array([1.0, np.nan, 3.0])
    for f in (cr.nansum, cr.nanmean, cr.nanmax, cr.nanstd, cr.nanmedian, cr.nanprod):
        g = cr.grad(f)(x).data
        assert g[1] == 0.0 and np.isfinite(g).all(), f


_MASKS = ("all", "any", "count_nonzero", "isclose", "signbit")
DIFFERENTIABLE = [c for c in SAME_AS_NUMPY if not c[0].startswith("arg") and c[0] not in _MASKS]


@pytest.mark.parametrize("name, fn, args", DIFFERENTIABLE, ids=[c[0] for c in DIFFERENTIABLE])
def test_float32_values_follow_numpy_and_gradients_stay_float32(name, fn, args):
    args32 = [a.astype(np.float32) for a in args]

    def first(out):
        return out[0] if isinstance(out, (list, tuple)) else out

    def loss(*xs):
        return cr.sum(cr.nan_to_num(first(fn(cr, *xs))))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert first(fn(cr, *args32)).dtype == np.asarray(first(fn(np, *args32))).dtype
        grads = cr.grad(loss, argnums=tuple(range(len(args32))))(*args32)
    assert [g.dtype for g in grads] == [np.float32] * len(args32)


_EXTRA_ARGS = {"array_split": (2,), "hsplit": (1,), "vsplit": (1,), "dsplit": (1,),
               "repeat": (2,), "tile": (2,), "quantile": (0.5,), "percentile": (50,),
               "nanquantile": (0.5,), "nanpercentile": (50,), "partition": (1,),
               "argpartition": (1,), "take_along_axis": (np.zeros((2, 1), int),)}
_TWO_ARGS = {"append", "cross", "inner", "kron", "fmax", "fmin", "fmod", "hypot", "logaddexp",
             "logaddexp2", "remainder", "floor_divide"}
_SWEPT = sorted({c[0] for c in SAME_AS_NUMPY} - {"einsum", "select", "mod"} | set(_EXTRA_ARGS)
                | {"atleast_1d", "atleast_2d", "flipud", "fliplr", "diagflat", "ediff1d",
                   "nanargmax", "nanargmin", "argwhere", "flatnonzero", "nonzero", "rint",
                   "fix", "isnan", "isinf", "isposinf", "isneginf", "degrees", "radians"})


@pytest.mark.parametrize("name", _SWEPT)
@pytest.mark.parametrize("bad", ["none", "str", "axis"])
def test_bad_input_errors_name_the_function_called(name, bad):
    fn = getattr(cr, name)
    value = {"none": None, "str": "ab", "axis": X}[bad]
    args = (value, value) if name in _TWO_ARGS else (value,)
    args += _EXTRA_ARGS.get(name, ())
    kwargs = {"axis": 5} if bad == "axis" else {}
    try:
        fn(*args, **kwargs)
    except TypeError as err:
        if bad == "axis" and "unexpected keyword" in str(err):
            return   # the function takes no axis
        assert str(err).startswith(getattr(fn, "__name__", getattr(fn, "name", name)) + ":"), err
    except (ValueError, IndexError) as err:
        assert str(err).startswith(getattr(fn, "__name__", getattr(fn, "name", name)) + ":"), err
    else:
        pytest.fail(f"{name} accepted {bad}")


def test_check_grads_checks_every_output_of_a_function_returning_several():
    x = rng.standard_normal((4, 3))
    cr.testing.check_grads(lambda x: cr.split(x, 2), (x,))
    cr.testing.check_grads(lambda x: cr.gradient(x), (x,))
    with pytest.raises(cr.testing.GradientCheckError):
        cr.testing.check_grads(lambda x: (x * 2, cr.stop_gradient(x) * x), (x,))
