"""The numba backend's array-at-a-time transcendentals: libmvec (4 doubles per call) for
sin/cos/tan/sinh/exp2, NumPy's SIMD loops for the rest, fused loops for arithmetic."""

import numpy as np
import pytest

import chainrule as cr

pytest.importorskip("numba")
from chainrule.symbolic import fuse, vecmath  # noqa: E402


def _chain(x):
    for _ in range(3):
        x = cr.tanh(cr.sin(x) * 1.001) + cr.cos(x) * 0.5 + cr.exp(x * 0.1)
    return cr.sum(x * x)


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 1027])
def test_libmvec_functions_agree_with_numpy_at_every_length(n):
    table = vecmath.functions()
    if not table:
        pytest.skip("no libmvec with AVX2 on this machine: the fused fallback is tested below")
    x = np.linspace(-3.0, 3.0, n)
    for ufunc, apply in table.items():
        out = np.full(n, np.nan)
        apply(x, out)
        np.testing.assert_allclose(out, ufunc(x), rtol=4e-16 * 8, atol=1e-300,
                                   err_msg=ufunc.__name__)
    special = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e300, -1e-300, 710.0])
    for ufunc, apply in table.items():
        out = np.empty_like(special)
        with np.errstate(all="ignore"):
            apply(special, out)
            want = ufunc(special)
        np.testing.assert_allclose(out, want, rtol=1e-14, err_msg=ufunc.__name__)


def test_transcendentals_run_as_array_calls_and_the_gradient_matches_eager():
    vg = cr.value_and_grad(_chain)
    fused = cr.jit(vg, backend="numba")
    x = np.linspace(-1, 1, 4099)       # not a multiple of 4
    (v, g), (ev, eg) = fused(x), vg(x)
    np.testing.assert_allclose(v.data, ev.data, rtol=1e-12)
    np.testing.assert_allclose(g.data, eg.data, rtol=1e-12, atol=1e-14)
    source = fused.lower(x).source
    assert "tanh(" in source and "exp(" in source   # NumPy's SIMD loops, between the kernels
    if vecmath.functions():
        assert "# sin, 4 at a time (libmvec)" in source and "# cos, 4 at a time" in source


def test_without_libmvec_sin_and_cos_fuse_again(monkeypatch):
    monkeypatch.setitem(vecmath._cache, "table", {})
    vg = cr.value_and_grad(_chain)
    fused = cr.jit(vg, backend="numba")
    x = np.linspace(-1, 1, 257)
    (_, g), (_, eg) = fused(x), vg(x)
    np.testing.assert_allclose(g.data, eg.data, rtol=1e-12, atol=1e-14)
    source = fused.lower(x).source
    assert "libmvec" not in source
    kernels = source.split("# fused")[1:]
    assert any("f0(" in k for k in kernels) and "sin(" not in source.split("\n\n")[0]


def test_identical_loops_compile_once():
    graph = cr.jit(cr.value_and_grad(_chain)).lower(np.ones(8)).graph
    scalar = fuse._Scalar(fuse.require_numba())
    loops = [p for p in fuse.partition(graph, scalar)
             if isinstance(p, fuse.Fused) and p.kernel is None]
    readers = fuse._readers(graph)
    for loop in loops:
        loop.outputs = fuse._outputs(loop, readers)
    sources = {fuse._kernel_source(p, scalar, "kernel")[0] for p in loops}
    assert len(loops) >= 4 and len(sources) < len(loops)
