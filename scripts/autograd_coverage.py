"""Run HIPS autograd's own NumPy tests against chainrule, through a thin adapter that only
translates spelling (`autograd.numpy` -> `chainrule`, autograd's `check_grads` -> ours).

    git clone https://github.com/HIPS/autograd /tmp/autograd
    .venv/bin/python scripts/autograd_coverage.py /tmp/autograd/tests

prints the passed/failed counts (and, with -v, each failure); with --coverage, autograd's
linear algebra, complex, FFT and SciPy tests instead. A measure of coverage, not a
test of the suite: autograd's complex-number cases, its pytree arguments and its own
helpers (`np.r_`, `make_diagonal`) fail here by construction.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tempfile

FILES = ["test_numpy.py", "test_systematic.py", "test_binary_ops.py", "test_scalar_ops.py",
         "test_logic.py"]
# With --coverage: the files of issue 10's linear algebra, complex numbers, FFT and SciPy.
COVERAGE_FILES = ["test_linalg.py", "test_complex.py", "test_fft.py", "test_scipy.py"]

ADAPTER = {
    "autograd/__init__.py": '''
import chainrule as cr

def grad(fun, argnum=0):
    return lambda *args, **kw: cr.grad(lambda *a: fun(*a, **kw), argnums=argnum)(*args)

def value_and_grad(fun, argnum=0):
    return lambda *args, **kw: cr.value_and_grad(lambda *a: fun(*a, **kw), argnums=argnum)(
        *args)

def elementwise_grad(fun, argnum=0):
    def g(*args):
        out, vjp_fn = cr.vjp(lambda x: fun(*args[:argnum], x, *args[argnum + 1:]), args[argnum])
        return vjp_fn(cr.ones_like(out))[0]
    return g

jacobian = lambda fun, argnum=0: cr.jacobian(fun, argnums=argnum)
tuple = tuple
hessian = lambda fun, argnum=0: cr.hessian(fun, argnums=argnum)
''',
    "autograd/test_util.py": '''
from itertools import product
import numpy as onp
import chainrule as cr

def check_grads(fun, argnum=0, modes=None, order=2):
    nums = (argnum,) if isinstance(argnum, int) else tuple(argnum)
    def check(*args, **kwargs):
        def f(*xs):
            a = list(args)
            for i, x in zip(nums, xs):
                a[i] = x
            return fun(*a, **kwargs)
        wide = lambda a: onp.asarray(a, complex if onp.iscomplexobj(a) else float)
        cr.testing.check_grads(f, [wide(args[i]) for i in nums],
                               order=order, modes=tuple(modes or ("fwd", "rev")))
    return check

def combo_check(fun, *args, **kwargs):
    def _combo_check(*arg_lists, **kwarg_lists):
        pairs = [[(k, x) for x in xs] for k, xs in kwarg_lists.items()]
        for _args in product(*arg_lists):
            for _kwargs in product(*pairs):
                check_grads(lambda *a, kw=dict(_kwargs): fun(*a, **kw), *args, **kwargs)(
                    *_args)
    return _combo_check
''',
    "autograd/numpy/__init__.py": '''
import numpy as _onp
from numpy import *  # constants, dtypes, and whatever chainrule lacks (those tests fail)
from numpy import __version__
import chainrule as _cr
from chainrule.ops._define import as_tensor as _as_tensor

for _name in dir(_cr):
    if not _name.startswith("_") and hasattr(_onp, _name):
        globals()[_name] = getattr(_cr, _name)
linalg = _cr.linalg
fft = getattr(_cr, "fft", None)

def array(obj, dtype=None):
    t = _as_tensor(obj)
    return t if dtype is None else t.astype(dtype)
''',
    "autograd/numpy/random.py": "from numpy.random import *\n",
    "autograd/scipy/__init__.py": "",
    "autograd/scipy/special.py": "from chainrule.scipy.special import *\n",
    "autograd/scipy/linalg.py": "from chainrule.scipy.linalg import *\n",
    "autograd/scipy/signal.py": "from chainrule.scipy.signal import *\n",
    "autograd/scipy/integrate.py": "from chainrule.scipy.integrate import *\n",
    "autograd/scipy/stats/__init__.py": "from . import (beta, chi2, dirichlet, gamma, "
                                        "multivariate_normal, norm, poisson, t)\n",
    **{f"autograd/scipy/stats/{d}.py": f"from chainrule.scipy.stats.{d} import *\n"
       f"from scipy.stats import {d} as _sampler\nrvs = _sampler.rvs\n"
       for d in ("norm", "t", "gamma", "chi2", "beta", "poisson", "dirichlet",
                 "multivariate_normal")},
}


def main(argv) -> int:
    if not argv or not pathlib.Path(argv[0], "test_numpy.py").exists():
        print(__doc__)
        return 2
    tests = pathlib.Path(argv[0]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in ADAPTER.items():
            path = pathlib.Path(tmp, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        src = pathlib.Path(__file__).resolve().parents[1] / "src"
        env = {"PYTHONPATH": f"{tmp}:{src}:{tests}", "PATH": "/usr/bin:/bin"}
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "-n", "2", *(["-rf"] if "-v" in argv else []),
               *(COVERAGE_FILES if "--coverage" in argv else FILES)]
        return subprocess.run(cmd, cwd=tests, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
