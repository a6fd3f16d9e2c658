"""The page's data without a browser: texts from the ops' rules, operands, groups, sizes."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import examples, program, record
from chainrule.explain.page import page_data


def _texts(data, phase):
    steps = data["reverse"] if phase == "reverse" else data["forward"][data["inputs"][0]["id"]]
    return [s["text"] for s in steps]


def test_a_over_b_at_b_zero_forward_and_reverse_agree():
    with np.errstate(divide="ignore", invalid="ignore"):
        g = program("c = a / b", a=1.0, b=0.0)
        data = page_data(g)
        assert [float(g.forward_sweep(n)["c"]) for n in "ab"] == [np.inf, -np.inf]
        assert [float(g.reverse_sweep()[n]) for n in "ab"] == [np.inf, -np.inf]
    assert data["notes"] == []
    json.dumps(data, allow_nan=False)  # strict JSON: inf travels as a string


def test_x_times_x_names_each_operand():
    g = record(lambda x: x * x, 3.0)
    data = page_data(g)
    labels = sorted(e["label"] for e in data["edges"])
    assert labels == ["x: 3", "y: 3"]
    texts = _texts(data, "reverse")
    assert "∂t1/∂x(as x) = 1 · 3" in texts[1] and "∂t1/∂x(as y) = 1 · 3" in texts[2]
    assert "dt1/dx (as x)  3" in str(g) and "dt1/dx (as y)  3" in str(g)
    assert 'label="x: 3", tooltip="dt1/dx (as x) = 3"' in g.to_dot()


def test_tensor_steps_say_what_is_multiplied_from_the_rule():
    rng = np.random.default_rng(0)
    W, x = rng.normal(size=(3, 4)), rng.normal(size=4)
    g = record(lambda W, x: cr.sum(cr.tanh(W @ x)), W, x)
    texts = _texts(page_data(g), "reverse")
    assert any("g * (1 - t2 ** 2)" in t for t in texts)       # tanh's rule, output named
    assert any("dt3/dx += W.T @ g, with g = dt3/dt1 (3)" in t for t in texts)
    assert all(len(t) < 160 for t in texts)
    assert not any("array of shape" in t for t in texts)
    edges = {(e["srcName"], e["dstName"]): e["label"] for e in page_data(g)["edges"]}
    assert edges[("t1", "t2")] == "diag" and edges[("x", "t1")] == "W @ ·"


def _lstm(steps):
    return examples.lstm(steps)[0]


def test_modules_group_the_nodes_and_name_the_parameters():
    g = _lstm(5)
    labels = [gr.label for gr in g.groups]
    assert labels[:3] == ["SequenceNet", "lstm: LSTM", "step 0"] and labels.count("step 4") == 1
    assert {n.name for n in g.inputs} == {"lstm.weight_ih_l0", "lstm.weight_hh_l0",
                                           "lstm.bias_ih_l0", "lstm.bias_hh_l0",
                                           "head.weight", "head.bias"}
    step0 = next(gr for gr in g.groups if gr.label == "step 0")
    assert {n.op for n in step0.nodes} >= {"linear", "sigmoid", "tanh", "multiply"}
    data = page_data(g)
    assert set(data["views"]) == {"operations", "layers", "layers+1", "layers+7"}
    assert data["view"] == "operations" and data["views"]["layers+1"]["title"] == \
        "layers, lstm: LSTM opened"
    layers = {b["name"]: b for b in data["nodes"] if b["kind"] == "layer"}
    assert layers["head: Linear"]["lines"][1] == "Jacobian (2, 1, 2, 3)"
    assert layers["lstm: LSTM"]["lines"][2] == "86 ops, 4 parameters"


def test_thousands_of_nodes_open_collapsed():
    g = _lstm(150)
    assert len(g.nodes) > 2500
    data = page_data(g)
    assert data["view"] == "layers" and "operations" not in data["views"]
    assert [v for v in data["views"] if v.startswith("layers+")] == ["layers+152"]  # head
    assert len(data["views"]["layers"]["boxes"]) < 20
    dot = g.to_dot()
    assert "lstm: LSTM" in dot and dot.count("->") < 20


def test_mlp_reverse_values_match_cr_grad():
    g, model = examples.mlp()
    data = page_data(g)
    last = {}
    for s in data["reverse"]:
        last.update(s.get("values", {}))
    g.output_tensor.backward()
    for n in g.inputs:
        p = dict(model.named_parameters())[n.name]
        np.testing.assert_allclose(np.reshape(last[f"n{n.index}"], p.shape), p.grad.data,
                                   rtol=1e-6)


@pytest.mark.parametrize("dpi", [0, "high"])
def test_dpi_must_be_a_positive_int(dpi):
    with pytest.raises(ValueError, match="dpi must be a positive int"):
        program("a * b", a=1.0, b=2.0).to_dot(dpi=dpi)


def test_png_dpi_makes_a_bigger_picture(tmp_path):
    g = program("c = a + b; d = b + 1; e = c * d", a=2.0, b=1.0)
    small = g.render(tmp_path / "a.png").read_bytes()
    big = g.render(tmp_path / "b.png", dpi=200).read_bytes()
    width = lambda png: int.from_bytes(png[16:20], "big")  # noqa: E731
    assert width(big) > 1.8 * width(small)


def test_every_result_object_shows_as_an_html_table():
    g = program("c = a + b; d = b + 1; e = c * d", a=2.0, b=1.0)
    for obj in (g.forward_sweep("b"), g.reverse_sweep(), g.paths("b"), g.work(),
                cr.explain.chain_costs([3, 2, 1])):
        html = obj._repr_html_()
        assert html.startswith("<div class='crx-table'><table>") and "<td" in html
    assert "1·2" in g.paths("b")._repr_html_()
    page = g._repr_html_()
    assert page.startswith('<div class="crx" id="crx-') and "<script>" in page
    assert g._repr_html_() != page  # each page gets its own id
