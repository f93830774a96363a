"""adam-ode explore in headless Chromium: launch, change the optimizer and γ, see the view update,
see an invalid γ's error beside the widget with the last good view kept (marker ``browser``).

The server runs in this process on 127.0.0.1 and a free port, and stops at teardown. The
browser is Debian's chromium (``ADAM_ODE_CHROMIUM`` overrides the path) driven by Playwright's
Python package; without Panel, Playwright or the browser these tests skip. With
``ADAM_ODE_WRITE_SCREENSHOT=1`` the default view is also written to ``docs/explore.png`` (the
README's screenshot).
"""

import os
from pathlib import Path

import pytest

pytest.importorskip("panel")
sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("ADAM_ODE_CHROMIUM", "/usr/bin/chromium")
# A closed network: no background requests, no first-run or update checks.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
FIRST_VIEW_MS = 120_000  # a cold numba cache compiles the kernels first (not a timing test)
VIEW_MS = 60_000
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "explore.png"


@pytest.fixture(scope="module")
def server():
    from adam_ode.explore import serve

    srv, url = serve(port=0, host="127.0.0.1", show=False, threaded=True, announce=None)
    yield url
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no browser at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(server)
    page.get_by_text("View 1:").wait_for(timeout=FIRST_VIEW_MS)
    yield page
    context.close()


def test_the_default_view_appears_and_can_be_screenshot(page, tmp_path):
    status = page.get_by_text("View 1:").inner_text()
    assert "adam (gamma = 0.005) on linear-regression-2d, 20 runs, seed 0" in status
    out = SCREENSHOT if os.environ.get("ADAM_ODE_WRITE_SCREENSHOT") == "1" else tmp_path / "v.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_changing_optimizer_and_gamma_redraws_and_a_bad_gamma_keeps_the_view(page):
    plot = page.locator(".bk-Canvas").first
    before = plot.screenshot()
    page.locator(".ex-optimizer-0 select").select_option("sgd")
    page.get_by_text("View 2:").wait_for(timeout=VIEW_MS)
    assert "sgd (gamma = 0.02)" in page.get_by_text("View 2:").inner_text()
    after = plot.screenshot()
    assert after != before  # the contour plot was redrawn

    step = page.locator(".ex-step-0 input")
    step.fill("0.01")
    step.press("Enter")
    page.get_by_text("View 3:").wait_for(timeout=VIEW_MS)
    assert "sgd (gamma = 0.01)" in page.get_by_text("View 3:").inner_text()

    step.fill("-1")
    step.press("Enter")
    error = page.locator(".ex-error-0-gamma")
    sync_api.expect(error).to_contain_text("gamma must be > 0 (allowed range (0, inf)), got -1",
                                           timeout=VIEW_MS)
    sync_api.expect(page.get_by_text("Invalid input")).to_be_visible()
    assert page.get_by_text("View 4:").count() == 0  # the last good view stays


def test_a_gamma_breaking_a_gamma_below_one_shows_the_records_error(page):
    step = page.locator(".ex-step-0 input")
    step.fill("0.5")  # Adam with a = 4: a*gamma = 2
    step.press("Enter")
    error = page.locator(".ex-error-0-gamma")
    sync_api.expect(error).to_contain_text("a*gamma must be < 1", timeout=VIEW_MS)
    assert page.get_by_text("View 2:").count() == 0
    assert "Traceback" not in page.content()


def test_compare_click_and_save_give_a_file_that_reruns(page, tmp_path):
    import tomllib

    page.locator(".ex-compare input").check()
    page.get_by_text("View 2:").wait_for(timeout=VIEW_MS)
    assert "adam (gamma = 0.005) vs sgd (gamma = 0.02)" in page.get_by_text("View 2:").inner_text()
    box = page.locator(".bk-Canvas").first.bounding_box()
    page.mouse.click(box["x"] + 0.3 * box["width"], box["y"] + 0.7 * box["height"])
    page.get_by_text("View 3:").wait_for(timeout=VIEW_MS)
    x0 = tomllib.loads("v = " + page.locator(".ex-x0 input").input_value())["v"]
    assert x0 != [-1.0, 4.0] and len(x0) == 2
    with page.expect_download() as download:
        page.locator(".ex-save-toml").get_by_text("Save as experiment").click()
    path = tmp_path / "view.toml"
    download.value.save_as(path)
    saved = tomllib.loads(path.read_text())
    assert saved["experiment"] == "explore" and saved["x0"] == x0
    assert saved["optimizer"]["name"] == "adam" and saved["compare"]["name"] == "sgd"
    from adam_ode.experiments import resolve_config
    from adam_ode.runners.explore import check

    check(resolve_config(path))  # a valid config of the explore runner
    with page.expect_download() as download:
        page.get_by_text("Save the view (PNG)").click()
    png = tmp_path / "view.png"
    download.value.save_as(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
