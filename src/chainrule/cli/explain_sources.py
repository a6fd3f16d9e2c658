"""What `chainrule explain` can explain besides a one-line program: a trained model on one
test image (`--model runs/mlp`), or a function in the user's own file (`file.py:f`)."""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import sys

import numpy as np

import chainrule as cr

from .errors import CommandError

__all__ = ["FUNCTION_REF", "function_graph", "model_graph", "model_summary"]

FUNCTION_REF = re.compile(r"^(?P<path>.+\.py):(?P<name>[A-Za-z_]\w*)$")


def function_graph(ref: str, values: dict):
    """The graph of `path.py:function` at the values given by parameter name."""
    m = FUNCTION_REF.match(ref)
    path, name = m.group("path"), m.group("name")
    if not os.path.isfile(path):
        raise CommandError(f"{path}: no such file (explain FILE.py:FUNCTION --at x=1 ...)")
    spec = importlib.util.spec_from_file_location(f"_chainrule_explain_{abs(hash(path))}",
                                                  path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # the user's file: say which line went wrong, in one line
        raise CommandError(f"{path}: running the file failed: {type(err).__name__}: "
                           f"{err}") from None
    finally:
        sys.path.pop(0)
    fn = getattr(module, name, None)
    if not callable(fn):
        raise CommandError(f"{path} defines no function {name!r}")
    params = [p.name for p in inspect.signature(fn).parameters.values()
              if p.default is inspect.Parameter.empty and p.kind in
              (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    missing = [p for p in params if p not in values]
    unknown = [v for v in values if v not in params]
    if missing or unknown:
        raise CommandError(f"{name}({', '.join(params)}): give --at "
                           + " ".join(f"{p}=..." for p in params)
                           + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    try:
        graph = cr.explain.record(fn, *[values[p] for p in params], names=params)
    except (TypeError, ValueError, ArithmeticError) as err:
        raise CommandError(f"{name}: {err}") from None
    return graph


def model_graph(folder: str, image: int):
    """A trained model's graph on test image `image`: (graph, label, prediction)."""
    from chainrule.train import CheckpointError, load_checkpoint

    try:
        model, ckpt = load_checkpoint(folder)
    except CheckpointError as err:
        raise CommandError(str(err)) from None
    config = ckpt["config"]
    data = None if config.get("data", "digits") == "digits" else config["data"]
    try:
        _, _, x_test, y_test, _ = cr.data.load_split(data)
    except (OSError, ValueError) as err:
        raise CommandError(str(err)) from None
    if not 0 <= image < len(x_test):
        raise CommandError(f"--image {image}: the test set has images 0 to {len(x_test) - 1}")
    dtype = np.dtype(cr.nn.init.get_default_dtype()).type
    x = cr.tensor(cr.data.scale_images(x_test[image:image + 1], config.get("scale", 1.0),
                                       dtype))
    label = int(y_test[image])
    model.eval()
    with cr.explain.scopes() as calls:
        logits = model(x)
        loss = cr.nn.CrossEntropyLoss()(logits, cr.tensor(np.array([label])))
    graph = cr.explain.graph_of(loss, model=model, scopes=calls)
    return graph, label, int(np.argmax(logits.data))


def model_summary(graph, label: int, prediction: int) -> str:
    """Loss, prediction, and each parameter's gradient: what one backward pass gives."""
    sweep = graph.reverse_sweep()
    lines = [f"test image: label {label}, predicted {prediction}; loss = "
             f"{graph.output.value.item():.6g}",
             f"graph: {len(graph.nodes)} nodes, {len(graph.edges)} edges, "
             f"{len(graph.groups)} module calls",
             "layers (as the model's modules made them):"]
    for g in graph.groups:
        if g.leaf_module:
            lines.append(f"  {g.label}")
    lines.append("gradients from one reverse sweep (the engine's backward pass):")
    width = max(len(n.name) for n in graph.inputs)
    for n in graph.inputs:
        a = sweep.adjoints[n.index]
        lines.append(f"  d{graph.output.name}/d{n.name.ljust(width)}  shape {str(n.shape):12}"
                     f"  norm {np.linalg.norm(a):.4g}  max |.| {np.abs(a).max():.4g}")
    return "\n".join(lines) + "\n"
