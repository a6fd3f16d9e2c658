"""The interactive page, driven in a real headless browser (Debian's chromium + selenium).

Four pages (colah's graph, micrograd's neuron, a 2-layer MLP on a batch of 4, an LSTM over
5 steps) are checked for geometry (no box overlaps another, text stays inside its box, no
edge runs through a box) and for numbers (stepping the whole reverse sweep ends with the
adjoints equal to cr.grad). One browser serves the module. Set CR_SCREENSHOTS=dir to keep
a screenshot of each page.
"""

import json
import os
import pathlib
import re
import shutil

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import examples
from chainrule.explain.html import fragment

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.fail("the HTML page test needs Debian's chromium and chromium-driver: run "
                    "`make test` (it installs them) or `sudo apt-get install chromium "
                    "chromium-driver`")
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000",
                "--disable-background-networking", "--disable-component-update",
                "--no-first-run", f"--user-data-dir={tmp_path_factory.mktemp('chrome')}"):
        options.add_argument(arg)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=options)
    yield driver
    driver.quit()


def colah():
    return examples.colah(), None


def micrograd_neuron():
    return examples.neuron(), None


PAGES = {"colah": colah, "micrograd": micrograd_neuron, "mlp": examples.mlp,
         "lstm": examples.lstm}

GEOMETRY = r"""
var root = document.querySelector(".crx"), out = {overlaps: [], overflow: [], crossings: []};
var boxes = [];
root.querySelectorAll(".node").forEach(function (g) {
  var r = g.querySelector("rect.frame").getBoundingClientRect();
  boxes.push({name: g.getAttribute("data-name"), id: g.getAttribute("data-id"), r: r});
  g.querySelectorAll("text").forEach(function (t) {
    var b = t.getBoundingClientRect();
    if (b.width === 0) return;
    if (b.left < r.left - 0.5 || b.right > r.right + 0.5 || b.top < r.top - 0.5 ||
        b.bottom > r.bottom + 0.5)
      out.overflow.push(g.getAttribute("data-name") + ": " + t.textContent);
  });
});
for (var i = 0; i < boxes.length; i++) for (var j = i + 1; j < boxes.length; j++) {
  var a = boxes[i].r, b = boxes[j].r;
  if (a.left < b.right - 0.5 && b.left < a.right - 0.5 &&
      a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5)
    out.overlaps.push(boxes[i].name + " / " + boxes[j].name);
}
var svg = root.querySelector("svg.crx-graph"), m = svg.getScreenCTM();
root.querySelectorAll(".edge").forEach(function (g) {
  var p = g.querySelector("path"), L = p.getTotalLength();
  var ends = [g.getAttribute("data-src"), g.getAttribute("data-dst")];
  for (var s = 0; s <= L; s += 2) {
    var q = p.getPointAtLength(s), x = q.x * m.a + m.e, y = q.y * m.d + m.f;
    boxes.forEach(function (bx) {
      if (ends.indexOf(bx.name) >= 0) return;
      var r = bx.r;
      if (x > r.left + 2 && x < r.right - 2 && y > r.top + 2 && y < r.bottom - 2)
        out.crossings.push(ends.join("->") + " crosses " + bx.name);
    });
  }
});
return out;
"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    made = {}
    for name, build in PAGES.items():
        graph, model = build()
        path = folder / f"{name}.html"
        graph.to_html(path, title=name, view="operations")
        made[name] = (path, graph, model)
    return made


def _step_to_end(driver):
    driver.execute_script("""var b = document.querySelector('.crx [data-act="step"]');
                             while (!b.disabled) b.click();""")


@pytest.mark.parametrize("name", list(PAGES))
def test_page_geometry_and_the_reverse_sweep_ends_at_cr_grad(browser, pages, name):
    path, graph, model = pages[name]
    browser.get(path.as_uri())
    _step_to_end(browser)
    found = browser.execute_script(GEOMETRY)
    assert found["overlaps"] == [], found["overlaps"]
    assert found["overflow"] == [], found["overflow"]
    assert found["crossings"] == [], found["crossings"][:5]
    shots = os.environ.get("CR_SCREENSHOTS")
    if shots:
        pathlib.Path(shots).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(pathlib.Path(shots) / f"{name}.png"))
    if graph.groups:  # every other view (layers; one layer opened): the same checks
        from selenium.webdriver.support.ui import Select
        views = Select(browser.find_element("css selector", ".crx-view"))
        names = [o.get_attribute("value") for o in views.options]
        assert names[:2] == ["operations", "layers"] and len(names) > 2
        for view in names[1:]:
            views.select_by_value(view)
            found = browser.execute_script(GEOMETRY)
            assert found["overlaps"] == found["overflow"] == found["crossings"] == [], \
                (view, found)
            if shots:
                browser.save_screenshot(str(pathlib.Path(shots) / f"{name}-{view}.png"))
        views.select_by_value("layers")
        layer = browser.find_elements("css selector", ".crx .node.layer")[-1]
        opened = layer.get_attribute("data-id").replace("g", "layers+")
        layer.click()  # opens that layer alone
        assert views.first_selected_option.get_attribute("value") == opened
        browser.find_element("css selector", ".crx .cluster text").click()  # collapses
        assert views.first_selected_option.get_attribute("value") == "layers"
        views.select_by_value("operations")
    adjoints = {}
    for g in browser.find_elements("css selector", ".crx .node.input"):
        adjoints[g.get_attribute("data-name")] = json.loads(g.get_attribute("data-adjoint"))
    if model is None:
        names = [n.name for n in graph.inputs]
        run = cr.explain.sweeps.replay(graph)
        grads = cr.grad(lambda *xs: run(*xs)[-1], argnums=tuple(range(len(names))))(
            *[n.value for n in graph.inputs])
        expected = dict(zip(names, (np.asarray(g.data) for g in grads)))
    else:
        graph.output_tensor.backward(retain_graph=True)
        expected = {n: np.asarray(p.grad.data) for n, p in model.named_parameters()}
    assert set(adjoints) == set(expected)
    for n, value in adjoints.items():
        np.testing.assert_allclose(np.reshape(value, expected[n].shape), expected[n],
                                   rtol=1e-6, atol=1e-7, err_msg=n)


def test_page_is_self_contained_and_strict_json(pages):
    text = pages["colah"][0].read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", text)
    assert "https://" not in text
    raw = re.search(r'<script type="application/json" class="crx-data">(.*?)</script>',
                    text, re.S).group(1)
    data = json.loads(raw, parse_constant=lambda c: pytest.fail(f"non-strict JSON: {c}"))
    assert data["wrt"] == "a" and data["output"] == "e"
    assert len(data["reverse"]) == 7  # the seed, five edges, done


def _texts(driver, page):
    q = f".crx:nth-of-type({page}) "
    find = driver.find_element
    return (find("css selector", q + ".crx-phase").get_attribute("data-phase"),
            find("css selector", q + ".crx-status").text,
            [(e.get_attribute("data-src"), e.get_attribute("data-dst"))
             for e in driver.find_elements("css selector", q + ".edge.active")],
            {n: (find("css selector", q + f'.node[data-name="{n}"] .tangent').text,
                 find("css selector", q + f'.node[data-name="{n}"] .adjoint').text)
             for n in "abcde"})


def test_stepping_colah_forward_then_reverse_with_named_derivatives(browser, pages):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(pages["colah"][0].as_uri())
    Select(browser.find_element(By.CSS_SELECTOR, ".crx-input")).select_by_visible_text("b")
    phase, status, active, _ = _texts(browser, 1)
    assert phase == "start" and active == []
    step = browser.find_element(By.CSS_SELECTOR, '[data-act="step"]')
    step.click()
    phase, status, _, node = _texts(browser, 1)
    assert phase == "forward" and "db/db = 1" in status
    assert node["b"][0] == "db/db = 1" and node["a"][0] == "da/db = 0"
    step.click()  # c = a + b
    phase, status, active, node = _texts(browser, 1)
    assert active == [("a", "c"), ("b", "c")]
    assert status.endswith("= 1·0 + 1·1 = 0 + 1 = 1") and node["c"][0] == "dc/db = 1"
    step.click()
    step.click()  # e = c * d: colah's 2·1 + 3·1 = 5
    phase, status, active, node = _texts(browser, 1)
    assert active == [("c", "e"), ("d", "e")] and "2·1 + 3·1" in status
    assert node["e"][0] == "de/db = 5"
    step.click()  # seed the reverse sweep
    phase, status, active, node = _texts(browser, 1)
    assert phase == "reverse" and node["e"][1] == "de/de = 1" and node["b"][1] == ""
    seen = []
    for _ in range(5):
        step.click()
        phase, status, active, node = _texts(browser, 1)
        seen.append((active[0], node["b"][1]))
    assert seen == [(("c", "e"), ""), (("d", "e"), ""), (("b", "d"), "de/db = 3"),
                    (("a", "c"), "de/db = 3"), (("b", "c"), "de/db = 5")]
    assert "running adjoint de/db = 5" in status
    step.click()
    phase, status, active, _ = _texts(browser, 1)
    assert phase == "done" and "de/da = 2, de/db = 5" in status
    assert step.get_attribute("disabled") is not None
    browser.find_element(By.CSS_SELECTOR, '[data-act="back"]').click()
    assert _texts(browser, 1)[2] == [("b", "c")]
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("\ue012")  # left arrow: back
    assert _texts(browser, 1)[2] == [("a", "c")]
    body.send_keys("\ue011")  # Home: reset
    assert _texts(browser, 1)[0] == "start"
    rows = browser.find_elements(By.CSS_SELECTOR, ".crx-paths tbody tr")
    assert [r.text for r in rows] == ["b→c→e 1·2 2", "b→d→e 1·3 3"]
    from selenium.webdriver import ActionChains
    ActionChains(browser).move_to_element(rows[1]).perform()
    onpath = browser.find_elements(By.CSS_SELECTOR, ".edge.onpath")
    assert [(e.get_attribute("data-src"), e.get_attribute("data-dst")) for e in onpath] == \
        [("b", "d"), ("d", "e")]
    work = browser.find_elements(By.CSS_SELECTOR, ".crx-work tbody tr")
    assert work[0].text.startswith("naive path sum 3 1")


def test_two_pages_in_one_document_step_independently(browser, tmp_path):
    from selenium.webdriver.common.by import By

    first = fragment(colah()[0], title="colah")
    second = fragment(micrograd_neuron()[0], title="neuron")
    path = tmp_path / "two.html"
    path.write_text(f"<!DOCTYPE html><html><body>{first}{second}</body></html>",
                    encoding="utf-8")
    browser.get(path.as_uri())
    pages = browser.find_elements(By.CSS_SELECTOR, ".crx")
    assert len(pages) == 2 and pages[0].get_attribute("id") != pages[1].get_attribute("id")
    names = [{n.get_attribute("data-name") for n in p.find_elements(By.CSS_SELECTOR, ".node")}
             for p in pages]
    assert {"a", "b", "c", "d", "e"} <= names[0] and {"x1", "w1", "b"} <= names[1]
    for _ in range(3):
        pages[0].find_element(By.CSS_SELECTOR, '[data-act="step"]').click()
    counters = [p.find_element(By.CSS_SELECTOR, ".crx-counter").text for p in pages]
    assert counters[0].startswith("step 3 of") and counters[1].startswith("step 0 of")
    pages[1].find_element(By.CSS_SELECTOR, '[data-act="step"]').click()
    counters = [p.find_element(By.CSS_SELECTOR, ".crx-counter").text for p in pages]
    assert counters[0].startswith("step 3 of") and counters[1].startswith("step 1 of")
