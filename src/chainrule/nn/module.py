"""`Module`: parameters, buffers and child modules, registered by attribute assignment.

Names, order and semantics follow PyTorch: `named_parameters()` walks the module tree in
pre-order (a module's own parameters, then each child's, in assignment order), and
`state_dict()` keys are the dotted paths (`0.weight`, `encoder.bias`, ...). Walks over the
tree use an explicit stack, never recursion.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, namedtuple
from types import MappingProxyType

import numpy as np

from .. import RemovableHandle, Tensor
from ..ops._define import bind_tensors
from ..ops.shape import identity_p
from .parameter import Parameter

__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict", "functional_call"]

EMPTY = MappingProxyType({})
IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class StateDictError(KeyError, ValueError):
    """A state dict whose names do not match the module's (a KeyError, as before, and a
    ValueError, as every other bad-value error; printed without KeyError's quotes)."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""
class _Scopes(threading.local):
    """Who watches module calls on this thread (the explainer's grouping); nobody by default."""

    observer = None


SCOPES = _Scopes()


def call_in_scope(owner, fn, args, kwargs=EMPTY):
    """`fn(*args, **kwargs)`, seen by the scope observer as work done by `owner` (a Module
    or a label such as "step 3"); without an observer it is just the call."""
    observer = SCOPES.observer
    if observer is None:
        return fn(*args, **kwargs)
    return observer(owner, fn, args, kwargs)


class Module:
    """Base class of every layer: subclass it, assign parameters and layers in `__init__`,
    and compute in `forward`. Calling the module calls `forward`."""

    training: bool

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ----- registration ----------------------------------------------------------------
    def _check_init(self):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                 "assigning parameters or submodules")

    def __setattr__(self, name, value):
        """The PyTorch compatibility layer: `self.fc = Linear(...)` or `self.w =
        Parameter(...)` registers a child module or a parameter by plain assignment, as in
        PyTorch, so that `parameters()`, `state_dict()` and `to()` find them; assigning
        anything else to a registered name is refused, and other values are ordinary
        attributes."""
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            self._check_init()
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            self._check_init()
            self._forget(name)
            self._modules[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to parameter '{name}' "
                                "of a module (a cr.nn.Parameter or None is required)")
            params[name] = None
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to submodule '{name}' "
                                "(a cr.nn.Module or None is required)")
            self._modules[name] = None
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                value = Tensor(value)
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        for d in (self._parameters, self._buffers, self._modules):
            d.pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                return store[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for key in ("_parameters", "_buffers", "_modules"):
            store = self.__dict__.get(key)
            if store is not None and name in store:
                del store[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param):
        """Register `param` (a Parameter or None) under `name`."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: '{name}' must be a cr.nn.Parameter or None, "
                            f"got {type(param).__name__}")
        self._check_init()
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True):
        """Register a non-trainable tensor (e.g. running statistics) saved in state_dict."""
        self._check_init()
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(tensor)
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module):
        """Register a child module under `name`."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: '{name}' must be a cr.nn.Module, got "
                            f"{type(module).__name__}")
        self._check_init()
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    # ----- calling -------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        hooks = self.__dict__.get("_hooks")
        observer = SCOPES.observer  # the explainer's module scopes; None: nobody watches
        if hooks is None and observer is None:  # the common case: two lookups, then forward
            return self.forward(*args, **kwargs)
        if observer is None:
            return call_with_hooks(self, hooks, args, kwargs)
        run = self.forward if hooks is None else (
            lambda *a, **k: call_with_hooks(self, hooks, a, k))
        return observer(self, run, args, kwargs)

    def _hook_table(self, kind: str) -> OrderedDict:
        if "_hooks" not in self.__dict__:
            object.__setattr__(self, "_hooks", {"pre": OrderedDict(), "forward": OrderedDict(),
                                                "backward": OrderedDict()})
        return self._hooks[kind]

    def register_forward_pre_hook(self, hook):
        """`hook(module, args)` before every forward; a non-None result replaces the
        positional arguments (a tuple, or one value). Returns a removable handle."""
        return _register(self._hook_table("pre"), hook)

    def register_forward_hook(self, hook):
        """`hook(module, args, output)` after every forward; a non-None result replaces the
        output. Returns a removable handle."""
        return _register(self._hook_table("forward"), hook)

    def register_full_backward_hook(self, hook):
        """`hook(module, grad_input, grad_output)` once the gradients with respect to the
        module's tensor inputs are known in a backward sweep (tuples, None where a tensor
        gets no gradient). With one tensor input, a returned tuple replaces grad_input for
        the rest of the sweep. Returns a removable handle."""
        return _register(self._hook_table("backward"), hook)

    # ----- walking the tree --------------------------------------------------------------
    def named_modules(self, prefix: str = ""):
        """(dotted name, module) for this module and every descendant, in pre-order."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{n}" if name else n, m)
                        for n, m in module._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, store: str, prefix: str, recurse: bool):
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_name, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{mod_name}.{name}" if mod_name else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """(dotted name, Parameter) pairs, each parameter once, in registration order."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn):
        """Call fn on every descendant and on self in PyTorch's order (post-order: each
        child's subtree in registration order, then the parent); returns self."""
        stack = [(self, False)]
        while stack:  # iterative: deep models do not hit the recursion limit
            module, expanded = stack.pop()
            if expanded:
                fn(module)
                continue
            stack.append((module, True))
            stack.extend((child, False) for child in reversed(list(module.children())))
        return self

    # ----- modes and gradients ---------------------------------------------------------
    def train(self, mode: bool = True):
        """Training mode (Dropout drops, BatchNorm uses batch statistics); returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode: same as train(False)."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True):
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True):
        """Clear the gradients of every parameter (to None, or to zeros)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor._wrap(np.zeros_like(p.data))

    def num_parameters(self) -> int:
        """Total number of scalar parameters."""
        return int(sum(p.size for p in self.parameters()))

    # ----- dtype ---------------------------------------------------------------------
    def to(self, *args, dtype=None, **kwargs):
        """Cast floating parameters and buffers to `dtype` in place (the same Parameter
        objects keep their identity, so optimizers built before still see them). Device
        strings such as "cpu" are accepted and ignored."""
        for a in args:
            if isinstance(a, str) and a.split(":")[0] in ("cpu",):
                continue
            dtype = a
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if not np.issubdtype(dtype, np.floating):
            raise TypeError(f"Module.to: only floating dtypes are supported, got {dtype}")
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for t in store.values():
                    if t is not None and np.issubdtype(t.dtype, np.floating):
                        t.data = t.data.astype(dtype)
                        if t.grad is not None:
                            t.grad = Tensor._wrap(t.grad.data.astype(dtype))
        return self

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    # ----- state ---------------------------------------------------------------------
    def state_dict(self, prefix: str = "") -> OrderedDict:
        """Ordered dict: dotted name -> ndarray copy, parameters and persistent buffers."""
        out = OrderedDict()
        for mod_name, module in self.named_modules(prefix.rstrip(".")):
            head = f"{mod_name}." if mod_name else ""
            for name, p in module._parameters.items():
                if p is not None:
                    out[head + name] = p.data.copy()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    out[head + name] = b.data.copy()
        return out

    def _state_targets(self) -> OrderedDict:
        targets = OrderedDict()
        for mod_name, module in self.named_modules():
            head = f"{mod_name}." if mod_name else ""
            for name, p in module._parameters.items():
                if p is not None:
                    targets[head + name] = p
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    targets[head + name] = b
        return targets

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values into the parameters and buffers, checking names, shapes and dtypes.

        Values keep each parameter's dtype. With strict=True (default) a missing or
        unexpected name is an error; returns (missing_keys, unexpected_keys). Nothing is
        copied unless every value fits (the state often comes from a file: trust nothing).
        """
        name = type(self).__name__
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"load_state_dict: expected a dict of arrays (name -> array), got "
                            f"{type(state_dict).__name__}")
        targets = self._state_targets()
        keys = list(state_dict.keys())
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in keys if k not in targets]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys: {missing}")
            if unexpected:
                parts.append(f"unexpected keys: {[str(k)[:60] for k in unexpected[:10]]}")
            raise StateDictError(f"load_state_dict: {name} state does not match: "
                                 + "; ".join(parts))
        mismatched = []
        values = {}
        for k, t in targets.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            v = np.asarray(v.data if isinstance(v, Tensor) else v)
            if v.dtype.kind not in "biuf":
                mismatched.append(f"'{k}': expected numbers, got an array of dtype {v.dtype}")
            elif v.shape != t.shape:
                mismatched.append(f"'{k}': expected shape {t.shape}, got {v.shape}")
            values[k] = v
        if mismatched:
            raise ValueError(f"load_state_dict: {name}: " + "; ".join(mismatched))
        for k, v in values.items():
            t = targets[k]
            t.data = np.array(v, dtype=t.dtype)
            t._bump_version()
        return IncompatibleKeys(missing, unexpected)

    # ----- repr ----------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The arguments shown inside the parentheses of the repr."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        children = [(n, m) for n, m in self._modules.items()]
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = [extra] if extra else []
        for name, m in children:
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))


class _ModuleSequence(Module):
    """Children kept in order: len, iteration, indexing, slicing and append."""

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return self._from_items(items[index])
        return items[index][1]


class Sequential(_ModuleSequence):
    """Modules applied one after another: `Sequential(Linear(4, 8), ReLU(), Linear(8, 2))`
    or `Sequential(OrderedDict(name=module, ...))`."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for m in modules:
                self.append(m)

    @staticmethod
    def _from_items(items):
        return Sequential(OrderedDict(items))  # a slice keeps its children's names

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters are registered (named 0, 1, ...)."""

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    @staticmethod
    def _from_items(items):
        return ModuleList(m for _, m in items)  # a slice is renumbered from 0

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self


class ModuleDict(Module):
    """A dict of modules whose parameters are registered under the keys."""

    def __init__(self, modules=None):
        super().__init__()
        for name, m in (modules or {}).items():
            self.add_module(name, m)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()


def functional_call(module: Module, params: dict, *args, **kwargs):
    """Call `module(*args)` with some parameters (or buffers) replaced by the tensors in
    `params` (dotted names), like torch.func.functional_call. Lets transforms such as
    cr.grad or check_grads differentiate a module with respect to its weights."""
    owners = dict(module.named_modules())
    saved = []
    try:
        for name, value in params.items():
            mod_name, _, leaf = name.rpartition(".")
            owner = owners.get(mod_name)
            if owner is None:
                raise KeyError(f"functional_call: no submodule '{mod_name}' for '{name}'")
            store = owner._parameters if leaf in owner._parameters else owner._buffers
            if leaf not in store:
                raise KeyError(f"functional_call: '{name}' is not a parameter or buffer")
            saved.append((store, leaf, store[leaf]))
            store[leaf] = value
        return module(*args, **kwargs)
    finally:
        for store, leaf, old in reversed(saved):
            store[leaf] = old


# ----- hooks -------------------------------------------------------------------------------

def _register(table: OrderedDict, hook):
    if not callable(hook):
        raise TypeError(f"expected a hook function, got {type(hook).__name__}")
    token = object()
    table[token] = hook
    return RemovableHandle(table, token)


def call_with_hooks(module, hooks, args, kwargs):
    """`module.forward` surrounded by its forward-pre, forward and full backward hooks."""
    for hook in list(hooks["pre"].values()):
        new = hook(module, args)
        if new is not None:
            args = new if isinstance(new, tuple) else (new,)
    backward = list(hooks["backward"].values())
    observer = _BackwardObserver(module, backward) if backward else None
    if observer is not None:
        args = observer.wrap_inputs(args)
    out = module.forward(*args, **kwargs)
    for hook in list(hooks["forward"].values()):
        new = hook(module, args, out)
        if new is not None:
            out = new
    return observer.wrap_outputs(out) if observer is not None else out


class _BackwardObserver:
    """Sees the gradients at a module's boundary: identity nodes on its tensor inputs and
    outputs carry tensor hooks that collect grad_output, then grad_input, then call the
    module's backward hooks once."""

    def __init__(self, module, hooks):
        self.module, self.hooks = module, hooks
        self.grad_input, self.grad_output, self.pending = [], [], 0

    def wrap_inputs(self, args):
        args = list(args)
        slots = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        self.grad_input = [None] * len(slots)
        self.pending = len(slots)
        for k, i in enumerate(slots):
            args[i] = _identity(args[i])
            args[i].register_hook(lambda g, k=k: self._on_input(k, g))
        return tuple(args)

    def wrap_outputs(self, out):
        outs = out if isinstance(out, tuple) else (out,)
        self.grad_output = [None] * len(outs)
        wrapped = []
        for j, o in enumerate(outs):
            if isinstance(o, Tensor) and o.requires_grad:
                o = _identity(o)
                o.register_hook(lambda g, j=j: self._on_output(j, g))
            wrapped.append(o)
        return tuple(wrapped) if isinstance(out, tuple) else wrapped[0]

    def _on_output(self, j, g):
        self.grad_output[j] = g
        if not self.grad_input:  # no input needs a gradient: the outputs are all we see
            self._call((None,))

    def _on_input(self, k, g):
        self.grad_input[k] = g
        self.pending -= 1
        if self.pending == 0:
            new = self._call(tuple(self.grad_input))
            if new is not None and len(self.grad_input) == 1:
                return new[0]
        return None

    def _call(self, grad_input):
        result = None
        for hook in self.hooks:
            new = hook(self.module, grad_input, tuple(self.grad_output))
            if new is not None:
                grad_input = result = tuple(new) if isinstance(new, (tuple, list)) else (new,)
        return result


def _identity(t):
    """A new node equal to t, so that a hook sees exactly the gradient at this boundary."""
    return bind_tensors(identity_p, (t,))
