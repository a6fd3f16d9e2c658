"""SIMD transcendentals for the numba backend: glibc's libmvec, called 4 doubles at a time.

numba compiles `math.sin` to one libm call per element, which no compiler vectorizes
without a vector math library; numba's pip wheels have no SVML and this LLVM is not told
about libmvec. glibc (2.35 and later) ships libmvec with AVX2 versions of sin, cos, tanh,
exp, log, ... (`_ZGVdN4v_sin`: four doubles in, four out, within 4 ulp), so the fused
backend calls them on whole arrays through a small numba intrinsic. Where libmvec or AVX2
is missing, `functions()` is empty and those functions fuse into per-element loops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import sys

import numpy as np

WIDTH = 4   # doubles per AVX2 register: the `dN4` in the names

# The NumPy ufuncs libmvec computes faster than NumPy's own float64 loop, and its names.
# Measured on 16,384 doubles (AVX-512 machine, NumPy 2.4): sin 14 us against 139 us
# (NumPy keeps scalar libm for float64 sin/cos, for accuracy), cos 15 / 132, tan 18 / 22,
# sinh 22 / 33, exp2 12 / 31. For the others NumPy's SIMD loop is as fast or faster.
NAMES = {np.sin: "sin", np.cos: "cos", np.tan: "tan", np.sinh: "sinh", np.exp2: "exp2"}

# Functions NumPy runs as SIMD loops: inside a fused loop numba would call scalar libm per
# element instead (tanh 575 us against NumPy's 27 us on 16,384 doubles), so they stay
# NumPy calls between the fused loops.
NUMPY_SIMD = frozenset({np.tanh, np.cosh, np.exp, np.expm1, np.log, np.log1p, np.log2,
                        np.log10, np.arcsin, np.arccos, np.arctan, np.arcsinh, np.arccosh,
                        np.arctanh, np.cbrt, np.sin, np.cos, np.tan, np.sinh, np.exp2})

_cache: dict = {}


def _library():
    """libmvec loaded for numba's JIT linker, or None where it cannot be used."""
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None
    import llvmlite.binding as ll
    if not ll.get_host_cpu_features().get("avx2"):
        return None
    path = ctypes.util.find_library("mvec")
    if path is None:
        return None
    try:
        lib = ctypes.CDLL(path)
        ll.load_library_permanently(path)
    except OSError:
        return None
    return lib


def _intrinsic(symbol: str):
    """A numba intrinsic `call(src, dst, count)`: dst[:4 count] = f(src[:4 count])."""
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def call(typingctx, src, dst, count):
        def codegen(context, builder, signature, args):
            src_a = context.make_array(signature.args[0])(context, builder, args[0])
            dst_a = context.make_array(signature.args[1])(context, builder, args[1])
            vec = ir.VectorType(ir.DoubleType(), WIDTH)
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec, [vec]),
                                                symbol)
            with cgutils.for_range(builder, args[2]) as loop:
                at = builder.mul(loop.index, ir.Constant(loop.index.type, WIDTH))
                value = builder.load(builder.bitcast(builder.gep(src_a.data, [at]),
                                                     vec.as_pointer()), align=8)
                builder.store(builder.call(fn, [value]), builder.bitcast(
                    builder.gep(dst_a.data, [at]), vec.as_pointer()), align=8)
            return context.get_dummy_value()

        return types.void(src, dst, count), codegen

    return call


def _array_function(call, ufunc):
    """A compiled `apply(src, dst)`: dst = f(src) for 1-d float64 arrays of one size, four
    entries per libmvec call (the last n % 4 by the scalar function)."""
    import numba

    @numba.njit(nogil=True)
    def apply(src, dst):
        n = src.size
        call(src, dst, n // WIDTH)
        for i in range(n // WIDTH * WIDTH, n):
            dst[i] = ufunc(src[i])

    return apply


def functions() -> dict:
    """{ufunc: apply(src, dst)} for the float64 functions libmvec provides here (compiled
    by numba on first use)."""
    if "table" not in _cache:
        lib = _library()
        table = {}
        if lib is not None:
            for ufunc, name in NAMES.items():
                symbol = f"_ZGVdN{WIDTH}v_{name}"
                if hasattr(lib, symbol):
                    table[ufunc] = _array_function(_intrinsic(symbol), ufunc)
        _cache["table"] = table
    return _cache["table"]


def _impl_in(eqn, table) -> bool:
    try:
        return eqn.op.impl in table
    except TypeError:   # an unhashable impl
        return False


def unfused(eqn) -> bool:
    """True when this transcendental runs faster as one array call (NumPy's SIMD loop, or
    libmvec) than as scalar libm calls inside a fused loop. float64 sin, cos, tan, sinh
    and exp2 are NumPy scalar loops: without libmvec they fuse."""
    if not _impl_in(eqn, NUMPY_SIMD):
        return False
    return eqn.out.dtype != np.float64 or not _impl_in(eqn, NAMES) or bool(functions())


def vector_function(eqn):
    """The libmvec `apply` computing this equation on whole arrays, or None."""
    if (eqn.out.dtype != np.float64 or eqn.params or eqn.nargs is not None
            or len(eqn.inputs) != 1 or eqn.inputs[0].shape != eqn.out.shape
            or eqn.inputs[0].dtype != np.float64 or not eqn.out.shape):
        return None
    return functions().get(eqn.op.impl) if _impl_in(eqn, NAMES) else None
