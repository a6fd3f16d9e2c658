"""Graph view and sweep tables: every number comes from the engine's rules."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import graph_of, program, record
from chainrule.explain.sweeps import engine_gradient


@pytest.fixture
def colah():
    return program("c = a + b; d = b + 1; e = c * d", a=2.0, b=1.0)


def test_nodes_in_topological_order_with_goodfellow_vocabulary(colah):
    assert [n.name for n in colah.nodes] == ["a", "b", "c", "d", "e"]
    assert [n.op for n in colah.nodes] == ["input", "input", "add", "add", "multiply"]
    assert [i.name for i in colah["d"].inputs] == ["b", "1"]
    assert colah["d"].inputs[1].kind == "const"
    assert [c.name for c in colah["b"].consumers] == ["c", "d"]
    assert [float(n.value) for n in colah.nodes] == [2, 1, 3, 2, 6]
    seen = set()
    for n in colah.nodes:  # inputs before consumers
        assert all(i.name in seen for i in n.inputs if i.kind != "const")
        seen.add(n.name)


def test_edges_carry_local_partials_and_constants_are_not_edges(colah):
    partials = {(e.src.name, e.dst.name): e.partial for e in colah.edges}
    assert partials == {("a", "c"): 1.0, ("b", "c"): 1.0, ("b", "d"): 1.0,
                        ("c", "e"): 2.0, ("d", "e"): 3.0}


def test_partials_come_from_the_vjp_rules(monkeypatch):
    g = record(lambda x, y: x * y, 2.0, -6.0)
    assert [e.partial for e in g.edges] == [-6.0, 2.0]  # f = xy at (2, -6): df/dx = -6
    mul = cr.PRIMITIVES["multiply"]
    calls = []
    original = mul.vjp

    def spy(i):
        def rule(g, ans, *args, **kw):
            calls.append(i)
            return original[i](g, ans, *args, **kw)
        return rule
    monkeypatch.setattr(mul, "vjp", (spy(0), spy(1)))
    record(lambda x, y: x * y, 2.0, -6.0)
    assert calls == [0, 1]


def test_tensor_edges_have_jacobians_when_small_and_shapes_always():
    rng = np.random.default_rng(0)
    W, x = rng.normal(size=(2, 3)), rng.normal(size=3)
    g = record(lambda W, x: cr.sum(cr.tanh(W @ x)), W, x)
    e = next(e for e in g.edges if e.src.name == "x")
    assert e.jacobian_shape == (2, 3)
    np.testing.assert_allclose(e.partial, W)
    big = record(lambda x: cr.sum(x * 2.0), np.ones(40))
    edge = big.edges[0]
    assert edge.jacobian_shape == (40, 40) and edge.partial is None
    assert edge.label() == "J 40x40"


def test_forward_sweep_table_uses_jvp(colah, monkeypatch):
    f = colah.forward_sweep("b")
    assert [float(d) for d in f.derivatives] == [0, 1, 1, 1, 5]
    assert [float(d) for d in colah.forward_sweep("a").derivatives] == [1, 0, 1, 0, 2]
    import chainrule.explain.sweeps as sweeps
    used = []
    real = sweeps.jvp
    monkeypatch.setattr(sweeps, "jvp", lambda *a, **k: used.append(1) or real(*a, **k))
    colah.forward_sweep("b")
    assert used == [1]


def test_reverse_sweep_table_and_steps(colah):
    r = colah.reverse_sweep()
    assert {n.name: float(r[n.name]) for n in colah.nodes} == \
        {"e": 1, "d": 3, "c": 2, "b": 5, "a": 2}
    steps = [(s.edge.dst.name, s.edge.src.name, float(s.contribution), float(s.running))
             for s in r.steps]
    assert steps == [("e", "c", 2, 2), ("e", "d", 3, 3), ("d", "b", 3, 3),
                     ("c", "a", 2, 2), ("c", "b", 2, 5)]


def test_sweeps_agree_with_engine_on_a_tensor_function():
    rng = np.random.default_rng(1)
    W, x, b = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3)

    def f(W, x, b):
        h = cr.tanh(W @ x + b)
        return cr.sum(h * h) + cr.sum(x[:3] * h)
    g = record(f, W, x, b)
    expected = cr.grad(f, argnums=(0, 1, 2))(W, x, b)
    r = g.reverse_sweep()
    for name, ex in zip("Wxb", expected):
        np.testing.assert_allclose(r[name], ex.data, rtol=1e-12)
        np.testing.assert_allclose(g.forward_sweep(name).derivatives[-1], ex.data, rtol=1e-12)
        np.testing.assert_allclose(engine_gradient(g)[name], ex.data, rtol=1e-12)


def test_graph_of_existing_output_and_backward_grads():
    x = cr.tensor(3.0, requires_grad=True)
    y = x * x + cr.sin(x)
    y.backward(retain_graph=True)
    g = graph_of(y, names={x: "x", y: "y"})
    assert g.output.name == "y" and g.inputs[0].name == "x"
    assert g["x"].grad == pytest.approx(6 + np.cos(3.0))
    # x * x: two edges from x into one node, so two paths through it
    assert g.count_paths("x") == 3
    assert "grad dy/dx" in g.to_dot()


def test_freed_graph_gives_a_clear_error():
    x = cr.tensor(3.0, requires_grad=True)
    y = cr.exp(x) * 2.0
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        graph_of(y)


def test_output_without_graph_is_refused():
    with pytest.raises(ValueError, match="requires_grad=True"):
        graph_of(cr.tensor(1.0))


def test_text_table_lists_operation_inputs_consumers(colah):
    text = str(colah)
    assert "node  operation  inputs  consumers  value" in text
    assert "d     add        b, 1    e          2" in text
    assert "de/dd  3" in text


def test_the_reverse_table_is_the_engines_sweep_with_an_observer(colah, monkeypatch):
    from chainrule.explain import sweeps
    from chainrule.transforms import reverse

    calls = []

    def spy(*args, **kwargs):
        calls.append(kwargs.get("on_edge") is not None)
        return reverse.sweep(*args, **kwargs)

    monkeypatch.setattr(sweeps, "engine_sweep", spy)
    table = colah.reverse_sweep()
    assert calls == [True]
    assert [(s.edge.dst.name, s.edge.src.name, float(s.running)) for s in table.steps] == \
        [("e", "c", 2.0), ("e", "d", 3.0), ("d", "b", 3.0), ("c", "a", 2.0), ("c", "b", 5.0)]


def test_on_edge_sees_every_rule_call_of_a_backward():
    from chainrule.transforms.reverse import sweep

    a = cr.tensor(2.0, requires_grad=True)
    e = (a * a) + a
    seen = []
    reached = sweep([e], [cr.tensor(1.0)], retain_graph=True,
                    on_edge=lambda t, i, g, c, total: seen.append((t.op.name, i, c.item(),
                                                                  total.item())))
    assert seen == [("add", 0, 1.0, 1.0), ("add", 1, 1.0, 1.0),
                    ("multiply", 0, 2.0, 3.0), ("multiply", 1, 2.0, 5.0)]
    assert reached[id(a)][1].item() == 5.0
