"""The interactive page, driven in a real headless browser (Debian's chromium + selenium)."""

import json
import re
import shutil

import pytest

from chainrule.explain import program

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
    for arg in ("--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--no-first-run", f"--user-data-dir={tmp_path_factory.mktemp('chrome')}"):
        options.add_argument(arg)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=options)
    yield driver
    driver.quit()


@pytest.fixture
def page(tmp_path):
    path = tmp_path / "colah.html"
    program("c = a + b; d = b + 1; e = c * d", a=2.0, b=1.0).to_html(path, wrt="b")
    return path


def test_page_is_self_contained(page):
    text = page.read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", text)
    assert "http://www.w3.org/2000/svg" in text  # the SVG namespace is a name, not a fetch
    assert "https://" not in text
    data = json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>',
                                text, re.S).group(1))
    assert data["wrt"] == "b" and data["output"] == "e"
    assert [s["phase"] for s in data["steps"]].count("reverse") == 6


def _state(driver):
    from selenium.webdriver.common.by import By

    active = [(e.get_attribute("data-src"), e.get_attribute("data-dst"))
              for e in driver.find_elements(By.CSS_SELECTOR, ".edge.active")]
    node = {n: (driver.find_element(By.CSS_SELECTOR, f'.node[data-name="{n}"] .tangent').text,
                driver.find_element(By.CSS_SELECTOR, f'.node[data-name="{n}"] .adjoint').text)
            for n in "abcde"}
    return (driver.find_element(By.ID, "phase").get_attribute("data-phase"),
            driver.find_element(By.ID, "status").text, active, node)


def test_stepping_through_forward_then_reverse(browser, page):
    from selenium.webdriver.common.by import By

    browser.get(page.as_uri())
    phase, status, active, _ = _state(browser)
    assert phase == "start" and active == []
    step = browser.find_element(By.ID, "step")
    step.click()
    phase, status, _, node = _state(browser)
    assert phase == "forward" and "db/db = 1" in status
    assert node["b"][0] == "d·/db = 1" and node["a"][0] == "d·/db = 0"
    step.click()  # c = a + b
    phase, status, active, node = _state(browser)
    assert active == [("a", "c"), ("b", "c")]
    assert status.endswith("= 1·0 + 1·1 = 0 + 1 = 1") and node["c"][0] == "d·/db = 1"
    step.click()
    step.click()  # e = c * d: colah's 2·1 + 3·1 = 5
    phase, status, active, node = _state(browser)
    assert active == [("c", "e"), ("d", "e")] and "2·1 + 3·1" in status
    assert node["e"][0] == "d·/db = 5"
    step.click()  # seed the reverse sweep
    phase, status, active, node = _state(browser)
    assert phase == "reverse" and node["e"][1] == "de/d· = 1" and node["b"][1] == ""
    seen = []
    for _ in range(5):
        step.click()
        phase, status, active, node = _state(browser)
        seen.append((active[0], node["b"][1]))
    assert seen == [(("c", "e"), ""), (("d", "e"), ""), (("b", "d"), "de/d· = 3"),
                    (("a", "c"), "de/d· = 3"), (("b", "c"), "de/d· = 5")]
    assert "running adjoint de/db = 5" in status
    step.click()
    phase, status, active, _ = _state(browser)
    assert phase == "done" and "de/da = 2, de/db = 5" in status
    assert browser.find_element(By.ID, "step").get_attribute("disabled") is not None
    browser.find_element(By.ID, "back").click()
    assert _state(browser)[2] == [("b", "c")]
    browser.find_element(By.ID, "reset").click()
    assert _state(browser)[0] == "start"
    row = browser.find_element(By.CSS_SELECTOR, 'tr[data-name="b"]')
    assert row.find_element(By.CSS_SELECTOR, ".adjoint").text == ""
