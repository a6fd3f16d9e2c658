"""`chainrule explain --symbolic`: next to the tape, the symbol-to-symbol view of the same
program, the listing `cr.jit` records for it and the simplified listing of its gradient."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np

import chainrule as cr
from chainrule.symbolic import replay


@dataclass
class SymbolicView:
    """The program and its derivative program as `cr.jit(...).lower()` lists them."""

    output: str        # the output's name
    names: list        # the program's input names, in the order x0, x1, ...
    wrt: list          # the inputs differentiated
    program: object    # Lowered of the function
    derivative: object  # Lowered of its gradient

    def text(self) -> str:
        inputs = ", ".join(f"x{i} = {n}" for i, n in enumerate(self.names))
        d = self.derivative
        return (f"symbol-to-symbol: the program as cr.jit records it ({inputs})\n"
                f"{self.program}\n\n"
                f"its derivative program, d {self.output} / d ({', '.join(self.wrt)}), "
                f"recorded from the backward pass and simplified ({d.nodes_traced} "
                f"equations traced, {d.nodes} after):\n{d}\n"
                f"rewrites applied: {self.rewrites()}\n")

    def rewrites(self) -> str:
        """Each rewrite rule applied, with how many times."""
        counts: dict = {}
        for step in self.derivative.log:
            rule = step.split(":", 1)[0]
            counts[rule] = counts.get(rule, 0) + 1
        return "; ".join(f"{r} (x{n})" for r, n in counts.items()) or "none"

    def json(self) -> dict:
        return {"output": self.output, "inputs": self.names, "wrt": self.wrt,
                "program": str(self.program), "derivative": str(self.derivative),
                "equations_traced": self.derivative.nodes_traced,
                "equations": self.derivative.nodes, "rewrites": list(self.derivative.log)}

    def html(self) -> str:
        """A section for the explain page: the two listings side by side."""
        pre = 'style="background:#f6f6f6;padding:8px;overflow:auto;font-size:13px"'
        return (f'<section class="crx-symbolic" style="font-family:sans-serif;margin:16px">'
                f"<h3>Symbol-to-symbol: the program and its derivative program</h3>"
                f"<p>The tape above is what backpropagation walks; below, the same "
                f"computation recorded as a program by <code>cr.jit</code>, and the program of "
                f"its gradient, recorded from the backward pass and simplified "
                f"({self.derivative.nodes_traced} equations traced, "
                f"{self.derivative.nodes} after). Rewrites: "
                f"{html.escape(self.rewrites())}.</p>"
                f'<div style="display:flex;gap:16px;flex-wrap:wrap">'
                f"<div><b>program</b><pre {pre}>{html.escape(str(self.program))}</pre></div>"
                f"<div><b>derivative program</b><pre {pre}>"
                f"{html.escape(str(self.derivative))}</pre></div></div></section>")


def symbolic_view(graph, wrt=None) -> SymbolicView:
    """The symbol-to-symbol view of an explain graph (its tape replayed under cr.jit)."""
    names = [n.name for n in graph.inputs]
    tensors = [n.tensor for n in graph.inputs]
    f = replay(graph.output.tensor, tensors)
    values = [np.array(t.data) for t in tensors]   # arrays: traced, not constants
    argnums = tuple(range(len(names))) if wrt is None else (names.index(wrt),)

    def scalar(*xs):   # the explained output holds one number; grad wants shape ()
        out = f(*xs)
        return out if out.shape == () else cr.sum(out)

    program = cr.jit(f).lower(*values)
    derivative = cr.jit(cr.grad(scalar, argnums)).lower(*values)
    return SymbolicView(graph.output.name, names, [names[i] for i in argnums], program, derivative)
