"""check_grads catches a wrong rule in each mode and order, and says where."""

import numpy as np
import pytest

from chainrule.ops._define import defop
from chainrule.testing import GradientCheckError, check_grads

# sin with a wrong VJP (cos scaled by 2): forward mode is right, reverse mode is not.
bad_vjp = defop("sin_bad_vjp_test", np.sin,
                vjp=lambda g, ans, x: g * 2 * x.cos(), jvp=lambda t, ans, x: t * x.cos())
# sin with a wrong JVP.
bad_jvp = defop("sin_bad_jvp_test", np.sin,
                vjp=lambda g, ans, x: g * x.cos(), jvp=lambda t, ans, x: t * x.sin())
# cube whose first derivative is right but is written with a constant where x belongs,
# so its second derivative is wrong: 3 x^2 rule computed as 3 * x * stop(x).
from chainrule.ops.shape import stop_gradient  # noqa: E402

bad_second = defop("cube_bad_second_test", lambda x: x ** 3,
                   vjp=lambda g, ans, x: g * 3 * x * stop_gradient(x),
                   jvp=lambda t, ans, x: t * 3 * x * stop_gradient(x))


def test_wrong_vjp_is_reported_with_argument_mode_order_and_entry():
    x = np.array([0.1, 0.5, -0.3])
    check_grads(lambda x: bad_vjp(x), (x,), order=1, modes=("fwd",))
    with pytest.raises(GradientCheckError) as err:
        check_grads(lambda x: bad_vjp(x), (x,), order=1, modes=("rev",))
    message = str(err.value)
    assert "rev mode, order 1, argument 0" in message and "worst entry at index" in message


def test_wrong_jvp_is_reported():
    with pytest.raises(GradientCheckError, match="fwd mode, order 1"):
        check_grads(lambda x: bad_jvp(x), (np.array([0.4, 1.0]),), order=1)


def test_wrong_second_derivative_is_caught_at_order_2_only():
    x = (np.array([0.7, -1.2]),)
    check_grads(lambda x: bad_second(x), x, order=1)
    with pytest.raises(GradientCheckError, match="order 2"):
        check_grads(lambda x: bad_second(x), x, order=2)


def test_correct_function_of_two_arguments_passes_to_third_order():
    assert check_grads(lambda x, y: (x * y).sum() * x, (np.ones(2) * 0.3, np.arange(2.0)),
                       order=3)
