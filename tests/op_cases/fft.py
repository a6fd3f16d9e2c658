"""cr.fft: the three transform primitives through every public function."""

import chainrule.fft as F

from . import OpCase, normal
from .complex import cnormal

CASES = [
    OpCase("fftn", F.fft, cnormal((5,))),
    OpCase("fftn", lambda x: F.fft(x, n=7, norm="ortho"), normal((2, 5)), "real-padded"),
    OpCase("fftn", lambda z: F.ifft(z, n=3, axis=0, norm="forward"), cnormal((4, 2)),
           "ifft-cropped"),
    OpCase("fftn", F.fft2, cnormal((3, 4)), "fft2"),
    OpCase("fftn", lambda z: F.ifftn(z, axes=(0, 2)), cnormal((2, 3, 2)), "ifftn"),
    OpCase("rfftn", F.rfft, normal((6,))),
    OpCase("rfftn", lambda x: F.rfft(x, n=5, norm="ortho"), normal((2, 5)), "odd"),
    OpCase("rfftn", F.rfft2, normal((3, 4)), "rfft2"),
    OpCase("irfftn", F.irfft, cnormal((4,))),
    OpCase("irfftn", lambda z: F.irfft(z, n=7, norm="forward"), cnormal((2, 4)), "odd"),
    OpCase("irfftn", lambda z: F.irfftn(z, s=(3, 4)), cnormal((3, 3)), "irfftn"),
    OpCase("irfftn", F.irfft2, cnormal((2, 3)), "irfft2"),
    OpCase("concatenate", F.fftshift, normal((2, 5)), "fftshift"),
    OpCase("concatenate", lambda z: F.ifftshift(z, axes=0), cnormal((5,)), "ifftshift"),
]
