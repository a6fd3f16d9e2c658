"""cr.scipy.signal.convolve (one primitive: the full convolution)."""

from chainrule.scipy.signal import convolve

from . import OpCase, normal

CASES = [
    OpCase("convolve", convolve, normal((5,), (3,)), "full-1d"),
    OpCase("convolve", lambda a, b: convolve(a, b, mode="same"), normal((3,), (5,)), "same"),
    OpCase("convolve", lambda a, b: convolve(a, b, mode="valid"), normal((4, 5), (2, 3)),
           "valid-2d"),
    OpCase("convolve", lambda a, b: convolve(a, b, mode="same"), normal((4, 3), (3, 2)),
           "same-2d"),
]
