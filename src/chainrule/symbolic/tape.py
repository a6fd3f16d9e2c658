"""From a tape to a program: the primitives recorded eagerly, re-applied to new inputs.

`replay(output, inputs)` turns the graph a backward pass would walk back into a function,
which `trace` or `cr.jit` can then record symbolically: the tape view and the
symbol-to-symbol view of one computation, side by side (`chainrule explain --symbolic`).
"""

from __future__ import annotations

import numpy as np

from ..core import TensorBase, _new_tensor, bind, saved_inputs, topological_order

__all__ = ["replay"]


def replay(output: TensorBase, inputs) -> callable:
    """A function of len(inputs) values that re-applies, in recorded order, every primitive
    on the tape from `inputs` to `output`; other values on the tape are constants."""
    order = topological_order([output])
    position = {id(t): i for i, t in enumerate(inputs)}
    missing = [tuple(t.shape) for t in inputs if not t.requires_grad]
    if missing:
        raise ValueError(f"replay: inputs of shapes {missing} do not require grad, so the "
                         "tape does not record what depends on them; make them with "
                         "requires_grad=True before computing the output")

    def replayed(*values):
        if len(values) != len(position):
            raise TypeError(f"replay: the tape has {len(position)} inputs, got "
                            f"{len(values)} values")
        results = {}
        for t in order:
            key = id(t)
            if key in position:
                v = values[position[key]]
                results[key] = v if isinstance(v, TensorBase) else _new_tensor(np.asarray(v))
            elif t._node is not None:
                args = tuple(results.get(id(a), a) for a in saved_inputs(t._node))
                results[key] = bind(t._node.op, args, t._node.params)
        return results.get(id(output), output)

    return replayed
