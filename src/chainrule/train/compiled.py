"""`CompiledStep`: a whole training step (forward, loss, backward, optimizer update) run
as one `cr.jit` program, on the model's and the optimizer's own state.

Each call reads the parameters, the optimizer's per-parameter state and the learning rate
as arguments of the compiled program, and `apply()` writes the results back in place, so
checkpoints, schedules and resuming see exactly what the eager loop would have left.
What is fixed while tracing is part of the cache key: the train/eval mode of every module
and the optimizer's hyperparameters other than the learning rate (a change retraces).
Random numbers drawn while tracing (dropout) would be replayed on every batch, and
buffers updated in place while tracing (BatchNorm's running statistics) would be updated
on the first batch only, so both raise instead.
"""

from __future__ import annotations

import numbers

import numpy as np

import chainrule as cr

__all__ = ["CompiledStep", "JitUnsupported"]


class JitUnsupported(ValueError):
    """The training setup cannot run compiled; the message says why and what to do."""


def _arrays(state: dict) -> dict:
    """Optimizer state ready to be traced: Python numbers become 0-d arrays (a step count
    kept as an int would be a constant of the trace and retrace at every step)."""
    return {k: np.asarray(v) if isinstance(v, numbers.Number) and not isinstance(v, bool)
            else v for k, v in state.items()}


def _hyper_key(group: dict, traced: tuple) -> tuple:
    """The group's hyperparameters read as constants while tracing, as a cache key."""
    return tuple((k, v) for k, v in sorted(group.items()) if k != "params" and k not in traced)


class CompiledStep:
    """`step(inputs, targets) -> (loss, logits)` computed by one compiled program, then
    `apply()` to write the new weights and optimizer state (the caller may look at the
    loss first and skip the update, as `fit` does when training diverges)."""

    def __init__(self, model, optimizer, loss_fn):
        if not hasattr(optimizer, "update"):
            raise JitUnsupported(f"jit: {type(optimizer).__name__} has no functional "
                                 "update(params, grads, state); train without jit")
        names = {id(p): n for n, p in model.named_parameters()}
        self.pairs = [(g, p) for g in optimizer.param_groups for p in g["params"]]
        missing = [p.shape for _, p in self.pairs if id(p) not in names]
        if missing:
            raise JitUnsupported(f"jit: the optimizer holds tensors of shapes {missing[:3]} "
                                 "that are not parameters of the model; compile a step of "
                                 "your own with cr.jit, or train without jit")
        self.names = [names[id(p)] for _, p in self.pairs]
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        # One group: its learning rate is traced (a schedule never retraces). Several
        # groups: the rates are part of the key like the other hyperparameters.
        self.traced = ("lr",) if len(optimizer.param_groups) == 1 else ()
        self.program = cr.jit(self._step, static_argnames=("mode", "hyper"))
        self._pending = None

    def _step(self, params, state, lr, x, y, mode, hyper):
        def loss_of(*ps):
            logits = cr.nn.functional_call(self.model, dict(zip(self.names, ps)), x)
            return self.loss_fn(logits, y), logits

        (loss, logits), grads = cr.value_and_grad(
            loss_of, argnums=tuple(range(len(params))), has_aux=True)(*params)
        extra = {"lr": lr} if self.traced else {}
        params, state = self.optimizer.update(params, list(grads), state, **extra)
        return params, state, loss, logits

    def __call__(self, inputs, targets):
        """(loss as a float, logits as an ndarray) of this batch; the update waits for
        `apply()`."""
        opt = self.optimizer
        params = [p.data for _, p in self.pairs]
        state = [_arrays(opt.state[p] if p in opt.state else opt._fresh_state(p.data, g))
                 for g, p in self.pairs]
        lr = np.float64(opt.param_groups[0]["lr"])
        mode = tuple(m.training for m in self.model.modules())
        hyper = tuple(_hyper_key(g, self.traced) for g in opt.param_groups)
        x = inputs.data if isinstance(inputs, cr.Tensor) else np.asarray(inputs)
        y = targets.data if isinstance(targets, cr.Tensor) else np.asarray(targets)
        generator = cr.nn.init.default_generator()
        before, traces = generator.bit_generator.state, self.program.cache_size
        buffers = [(name, b.data.copy()) for name, b in self.model.named_buffers()]
        new_params, new_state, loss, logits = self.program(params, state, lr, x, y,
                                                           mode=mode, hyper=hyper)
        if self.program.cache_size > traces:
            self._check_trace(generator.bit_generator.state != before, buffers)
        self._pending = (new_params, new_state)
        return float(loss.data), logits.data

    def _check_trace(self, drew: bool, buffers: list) -> None:
        """Refuse a program that would replay what happened once while tracing."""
        current = dict(self.model.named_buffers())
        changed = [name for name, old in buffers if not np.array_equal(
            old, current[name].data, equal_nan=True)]
        if drew or changed:
            self.program.clear_cache()
            for name, old in buffers:     # undo the tracing call's updates
                current[name].data = old
        if drew:
            raise JitUnsupported(
                "jit: the model drew random numbers while being compiled (dropout?); the "
                "compiled step would reuse the same ones on every batch. Set dropout to 0, "
                "or train without jit")
        if changed:
            raise JitUnsupported(
                f"jit: the model updates its buffers {', '.join(changed[:3])} in place while "
                "training (BatchNorm's running statistics?); the compiled step would do it "
                "on the first batch only. Train without jit")

    def apply(self) -> None:
        """Write the step's new parameters and optimizer state in place."""
        new_params, new_state = self._pending
        self._pending = None
        for (_, p), q, s in zip(self.pairs, new_params, new_state):
            p.data[...] = q.data
            p._bump_version()   # a graph recorded before this step is now stale
            self.optimizer.state[p] = {
                k: int(v.data) if isinstance(v, cr.Tensor) and v.dtype.kind in "iu"
                and v.ndim == 0 else (v.data.copy() if isinstance(v, cr.Tensor) else v)
                for k, v in s.items()}
