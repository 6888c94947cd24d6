"""In a real Chromium against a fresh `streamlit run app.py`: what a class meets first. The
first request of a fresh server may be any page's address and still runs inside the app; the
join code on the Welcome page decodes to the address students should open; no request leaves
the machine during a tour of every page; the lab's drawing follows an edit and its curves read
0-100 %."""

import io
import os
import re
from urllib.parse import urlsplit

import pytest

from tests.e2e_server import CHROMIUM, CHROMIUM_ARGS, streamlit_server
from tests.test_browser import _browser_missing, _wait_for_script

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import sync_playwright
except ImportError:   # pragma: no cover
    sync_playwright = None


@pytest.fixture(scope="module")
def chromium(data_available):
    reason = _browser_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(chromium):
    with streamlit_server() as running:
        yield running


def _open(chromium, url: str):
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(90_000)
    page.goto(url)
    _wait_for_script(page)
    return page


def test_the_first_request_of_a_fresh_server_may_be_a_page_and_runs_inside_the_app(chromium):
    for address, heading in (("lab", "Architecture lab"), ("draw_digit", "Draw a digit")):
        with streamlit_server() as fresh:
            page = _open(chromium, f"{fresh.url}/{address}")
            try:
                page.get_by_role("heading", name=heading).wait_for()
                navigation = page.locator("[data-testid='stSidebarNav']").inner_text()
                assert "Welcome" in navigation and "Famous architectures" in navigation   # the app's own titles
                assert page.get_by_text("Scenes, links and lessons").count() >= 1   # the app's sidebar
                assert page.get_by_text("Page not found").count() == 0
            finally:
                page.close()


def test_the_join_code_decodes_to_the_address_students_open(chromium, server):
    import zxingcpp
    from PIL import Image

    from ui.join import _interfaces, choose_address, join_url

    expected = join_url(None, choose_address(_interfaces()), urlsplit(server.url).port)
    page = _open(chromium, server.url)
    try:
        page.get_by_text("Students open", exact=True).wait_for()
        code = page.locator(".st-key-join_qr_page img").first
        picture = Image.open(io.BytesIO(code.screenshot()))
        found = zxingcpp.read_barcodes(picture)
        assert [f.text for f in found] == [expected]
        assert "localhost" not in expected and "127.0.0.1" not in expected
        assert page.get_by_text(expected).count() >= 1   # also written out, to copy
    finally:
        page.close()


def test_no_request_leaves_the_machine_during_a_tour_of_every_page(chromium, server):
    from ui.navigation import ALL_PAGES

    own = urlsplit(server.url).netloc
    outside: list[str] = []
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})

    def guard(route):
        if urlsplit(route.request.url).netloc not in (own, ""):
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        for info in ALL_PAGES:
            page.goto(f"{server.url}/{info.url_path}")
            _wait_for_script(page)
            page.get_by_role("heading", name=re.compile(".")).first.wait_for()
        assert outside == [], outside
    finally:
        context.close()


def _figure(page, title_part: str):
    """The data and layout of the plotly chart whose title contains `title_part`."""
    return page.evaluate(
        "part => { for (const plot of document.querySelectorAll('.js-plotly-plot')) {"
        " const title = (plot.layout && plot.layout.title && plot.layout.title.text) || '';"
        " if (title.includes(part)) return {data: plot.data.length, layout: plot.layout}; } return null; }",
        title_part)


def test_the_lab_drawing_follows_an_edit_and_the_curves_read_0_to_100(chromium, server):
    page = _open(chromium, f"{server.url}/lab")
    try:
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length > 0")
        before = _figure(page, "block by block")
        assert before is not None and before["data"] == 10   # the GAP net's ten blocks
        row = page.get_by_label("Layer", exact=True)
        row.fill("9")                                       # the max-pooling
        row.press("Enter")
        _wait_for_script(page)
        page.get_by_role("button", name="Delete", exact=True).click()
        _wait_for_script(page)
        page.wait_for_function("() => { for (const p of document.querySelectorAll('.js-plotly-plot'))"
                               " if ((p.layout.title.text || '').includes('block by block')) return p.data.length === 9;"
                               " return false; }")
        epochs = page.get_by_role("spinbutton", name="Epochs")
        epochs.fill("1")
        epochs.press("Enter")
        _wait_for_script(page)
        page.get_by_role("button", name="Train", exact=True).click()
        page.get_by_text(re.compile(r"Done: test accuracy")).wait_for(timeout=300_000)
        curves = _figure(page, "This run")
        assert curves["layout"]["yaxis2"]["range"] == [0, 1] and curves["layout"]["yaxis2"]["tickformat"] == ".0%"
        assert curves["layout"]["xaxis"]["title"]["text"] == "epoch"
    finally:
        page.close()
