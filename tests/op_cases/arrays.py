"""NumPy's array functions (compositions of the shape primitives), sorting and order
statistics (gradient through the permutation), and the NaN-ignoring reductions."""

import numpy as np

import chainrule as cr
from chainrule.ops.shape import bind_tensors
from chainrule.ops.sorting import scatter_along_axis_p

from . import OpCase, normal


def distinct(*shapes):
    """Entries spaced at least 0.1 apart (no ties, so orderings survive finite differences)."""
    def make(rng):
        out = []
        for s in shapes:
            n = int(np.prod(s))
            out.append((rng.permutation(n) * 0.37 + rng.uniform(0, 0.1, n) - n / 5).reshape(s))
        return tuple(out)
    return make


def _with_nans(rng):
    x = distinct((3, 5))(rng)[0]
    x[0, 1] = x[2, 4] = x[1, 0] = np.nan
    return (x,)


def _flat_pick(x, position):
    """The entry of x at a flat position (a tensor), batchable under vmap."""
    return cr.take_along_axis(cr.ravel(x), cr.reshape(position, (1,)), 0)


def _scatter(g, x):
    idx = cr.argsort(x, axis=1)
    return bind_tensors(scatter_along_axis_p, (g, idx), {"axis": 1, "shape": x.shape}) * x


CASES = [
    # joining, splitting, reshaping
    OpCase("reshape", lambda x: cr.ravel(x) * 2, normal((2, 3)), "ravel"),
    OpCase("reshape", lambda x, y: cr.atleast_3d(x, y)[0] * cr.atleast_2d(y),
           normal((3,), (3,)), "atleast"),
    OpCase("concatenate", lambda x, y: cr.vstack([x, y]), normal((3,), (3,)), "vstack"),
    OpCase("concatenate", lambda x, y: cr.hstack((x, y)), normal((2, 3), (2, 1)), "hstack"),
    OpCase("concatenate", lambda x, y: cr.column_stack([x, y]), normal((3,), (3, 2)),
           "column_stack"),
    OpCase("concatenate", lambda x, y: cr.dstack([x, y]), normal((2, 3), (2, 3)), "dstack"),
    OpCase("concatenate", lambda x, y: cr.append(x, y), normal((2, 3), (2,)), "append"),
    OpCase("getitem", lambda x: cr.array_split(x, 3)[1] * cr.array_split(x, 3)[0][0],
           normal((7,)), "array_split"),
    OpCase("getitem", lambda x: cr.vsplit(x, 2)[0][:, 1:] * cr.hsplit(x, [1])[1][:2],
           normal((4, 3)), "vsplit-hsplit"),
    OpCase("getitem", lambda x: cr.dsplit(x, 2)[1] * x[..., :1], normal((2, 2, 2)), "dsplit"),
    # flips, rolls, repeats
    OpCase("getitem", lambda x: cr.flipud(x) * cr.fliplr(x), normal((3, 4)), "flips"),
    OpCase("transpose", lambda x: cr.rot90(x) * cr.rot90(x, 3), normal((3, 3)), "rot90"),
    OpCase("concatenate", lambda x: cr.roll(x, 2, axis=1) * cr.roll(x, -1), normal((3, 4)),
           "roll"),
    OpCase("getitem", lambda x: cr.repeat(x, [1, 0, 3], axis=0) * 1.5, normal((3, 2)),
           "repeat"),
    OpCase("broadcast_to", lambda x: cr.tile(x, (2, 1, 3)), normal((2, 3)), "tile"),
    # diagonals, triangles, products
    OpCase("scatter_add", lambda v: cr.diag(v, 1) @ cr.diag(v * v, -1), normal((3,)), "diag"),
    OpCase("getitem", lambda x: cr.diagonal(x, 1, 2, 0) * cr.trace(x, 0, 0, 2)[:, None],
           normal((3, 2, 3)), "diagonal-trace"),
    OpCase("where", lambda x: cr.tril(x, -1) @ cr.triu(x), normal((3, 3)), "tril-triu"),
    OpCase("multiply", cr.kron, normal((2, 3), (3, 2)), "kron"),
    OpCase("einsum", cr.inner, normal((2, 3), (4, 3)), "inner"),
    OpCase("multiply", cr.cross, normal((4, 3), (3,)), "cross"),
    OpCase("multiply", lambda a, b: cr.cross(a, b, axis=0), normal((3, 2), (2, 2)),
           "cross-2-and-3"),
    OpCase("einsum", lambda a, b: cr.einsum(a, [0, 1], b, [1, Ellipsis], [Ellipsis, 0]),
           normal((2, 3), (3, 4)), "einsum-sublists"),
    # differences, select, cumprod, linspace
    OpCase("subtract", lambda x: cr.diff(x, 2, axis=0, prepend=1.0) * x[:1],
           normal((4, 3)), "diff"),
    OpCase("subtract", lambda x: cr.ediff1d(x, to_end=x[0]), normal((4,)), "ediff1d"),
    OpCase("where", lambda x, y: cr.select([x > 0.5, x < 0], [x * y, y], default=x),
           lambda rng: (np.array([0.9, 0.2, -0.4, 1.3]), rng.standard_normal(4)), "select"),
    OpCase("cumprod", lambda x: cr.cumprod(x, axis=1), normal((2, 5))),
    OpCase("cumprod", lambda x: cr.cumprod(x * np.array([1.0, 0.0, 1.0, 1.0, 1.0])),
           normal((5,)), "one-zero"),
    OpCase("cumprod", lambda x: cr.cumprod(x * np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]),
                                           axis=0), normal((2, 3)), "zeros-axis0"),
    OpCase("cumprod", lambda x: cr.cumprod(x * np.array([1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0])),
           normal((7,)), "two-zeros"),
    OpCase("where", lambda a, b: cr.linspace(a, b, 5, axis=-1), normal((2,), (2,)),
           "linspace"),
    OpCase("concatenate", lambda a, b: cr.mean([a, b * b, [1.0, 2.0]], axis=0),
           normal((2,), (2,)), "list-of-tensors"),
    # sorting and order statistics
    OpCase("take_along_axis", lambda x: cr.sort(x, axis=0), distinct((4, 3))),
    OpCase("take_along_axis", lambda x: cr.sort(x ** 2, axis=None), distinct((2, 3)),
           "flat"),
    OpCase("argsort", lambda x: cr.take_along_axis(x, cr.argsort(x, axis=1), axis=1) * x,
           distinct((2, 4))),
    OpCase("argpartition", lambda x: cr.partition(x, 2), distinct((2, 5))),
    OpCase("scatter_along_axis", _scatter, lambda rng: (rng.standard_normal((2, 4)),
                                                        distinct((2, 4))(rng)[0])),
    OpCase("argmax", lambda x: _flat_pick(x, cr.argmax(x)) * x + cr.take_along_axis(
        x, cr.argmin(x, axis=1, keepdims=True), 1), distinct((3, 4)), "argmax-argmin"),
    OpCase("argmin", lambda x: x * _flat_pick(x, cr.argmin(x)), distinct((5,))),
    OpCase("take_along_axis", lambda x: cr.median(x, axis=1), distinct((3, 4)), "median"),
    OpCase("take_along_axis", lambda x: cr.median(x), distinct((5,)), "median-odd"),
    OpCase("take_along_axis", lambda x: cr.quantile(x, [0.1, 0.5, 0.93], axis=0),
           distinct((6, 2)), "quantile"),
    OpCase("take_along_axis", lambda x: cr.percentile(x, 30, axis=(0, 1), method="midpoint"),
           distinct((2, 3, 2)), "percentile"),
    # NaN-ignoring reductions
    OpCase("sum", lambda x: cr.nansum(x, axis=1) * cr.nanmean(x), _with_nans, "nansum-nanmean"),
    OpCase("max", lambda x: cr.nanmax(x, axis=0) + cr.nanmin(x), _with_nans, "nanmax-nanmin"),
    OpCase("prod", lambda x: cr.nanprod(x, axis=1), _with_nans, "nanprod"),
    OpCase("sqrt", lambda x: cr.nanvar(x, axis=1)[:, None] + cr.nanstd(x, axis=0, ddof=1),
           _with_nans, "nanvar-nanstd"),
    OpCase("cumsum", lambda x: cr.nancumsum(x, axis=1) * cr.nancumprod(x, axis=1),
           _with_nans, "nancumsum-nancumprod"),
    OpCase("take_along_axis", lambda x: cr.nanmedian(x, axis=1) + cr.nanquantile(x, 0.3),
           _with_nans, "nanmedian-nanquantile"),
    OpCase("take_along_axis", lambda x: cr.nanpercentile(x, [20, 80], axis=0), _with_nans,
           "nanpercentile"),
    OpCase("argmax", lambda x: cr.take_along_axis(x, cr.nanargmax(x, axis=1, keepdims=True), 1)
           * cr.nansum(x), _with_nans, "nanargmax"),
    # NumPy 2 names and small composites
    OpCase("subtract", lambda x: cr.gradient(x, 0.5, edge_order=2)[1] * cr.gradient(x)[0],
           normal((3, 4)), "gradient"),
    OpCase("add", lambda y, x: cr.trapezoid(y, x) * cr.sum(cr.trapezoid(y, dx=0.2, axis=0)),
           lambda rng: (rng.standard_normal((3, 4)), np.cumsum(rng.uniform(0.1, 1, 4))),
           "trapezoid"),
    OpCase("divide", lambda a, w: cr.average(a, axis=1, weights=w), lambda rng: (
        rng.standard_normal((2, 3)), rng.uniform(0.5, 2.0, 3)), "average"),
    OpCase("max", lambda x: cr.ptp(x, axis=0), distinct((3, 2)), "ptp"),
    OpCase("broadcast_to", lambda x, y: cr.meshgrid(x, y)[0] * cr.meshgrid(x, y)[1],
           normal((3,), (2,)), "meshgrid"),
    OpCase("pad", lambda x: cr.cumulative_sum(x, axis=1, include_initial=True)
           * cr.cumulative_prod(x, axis=1, include_initial=True), normal((2, 3)),
           "cumulative"),
    OpCase("einsum", lambda a, v: cr.matvec(a, v) + cr.vecmat(v[:2], a) @ cr.vecdot(a, a),
           normal((2, 2), (2,)), "vecdot-matvec-vecmat"),
    OpCase("getitem", lambda x: cr.unstack(x, 1)[0] * cr.matrix_transpose(x)[1],
           normal((3, 3)), "unstack-matrix_transpose"),
    OpCase("all", lambda x: cr.where(cr.all(x > 0, axis=0), x, -x), distinct((2, 3))),
    OpCase("any", lambda x: cr.where(cr.any(x > 0.5, axis=1, keepdims=True), x, x * x),
           distinct((3, 2))),
]
