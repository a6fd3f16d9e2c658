"""`cr.nn`: modules, layers, losses and initializers with PyTorch's names and semantics.

    model = cr.nn.Sequential(cr.nn.Linear(64, 32), cr.nn.ReLU(), cr.nn.Linear(32, 10))
    loss = cr.nn.CrossEntropyLoss()(model(x), y)
    loss.backward()

Parameters are float32 by default (as in PyTorch; see init.set_default_dtype, or call
`model.double()`), initialized from the seeded generator of `cr.nn.init` (`manual_seed`).
"""

from . import functional, init
from .layers import *  # noqa: F403
from .layers import __all__ as _layers_all
from .module import Module, ModuleDict, ModuleList, Sequential, functional_call
from .parameter import Parameter

__all__ = ["functional", "init", "Module", "ModuleDict", "ModuleList", "Sequential",
           "Parameter", "functional_call", *_layers_all]

# cr.nn.utils (clip_grad_norm_), owned by the optim side; cr.nn.models, the classifiers
# `chainrule train` builds: both build on the names above.
from . import models, utils  # noqa: E402
