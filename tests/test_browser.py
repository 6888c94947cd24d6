"""End to end in a real Chromium: draw digits on the canvas with the mouse and read the
prediction the page shows. CI installs Debian's chromium; without one these tests skip
locally, never in CI."""

import os
import re
import shutil

import pytest

from tests.e2e_server import CHROMIUM, CHROMIUM_ARGS, streamlit_server

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:   # pragma: no cover
    sync_playwright = None


def _browser_missing() -> str | None:
    if sync_playwright is None:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    if not shutil.which(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def page(data_available):
    reason = _browser_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(reason)
    with streamlit_server() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(server.url)
        _wait_for_script(page)
        yield page
        browser.close()


def _wait_for_script(page):
    page.wait_for_selector(".stApp[data-test-script-state='notRunning']")


def _ink_on_canvas(page) -> bool:
    return page.locator("canvas.dc-canvas.lower-canvas").first.evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " for (let i = 0; i < d.length; i += 4) if (d[i] > 128) return true; return false; }"
    )


def _stroke(page, points):
    """Draw a polyline with the mouse. The canvas can take a moment to wire up its handlers
    after it appears, so a stroke that left no ink is drawn again."""
    for _ in range(10):
        box = page.locator("canvas.upper-canvas").first.bounding_box()
        x0, y0 = box["x"], box["y"]
        page.mouse.move(x0 + points[0][0], y0 + points[0][1])
        page.mouse.down()
        for (xa, ya), (xb, yb) in zip(points, points[1:]):
            for t in range(1, 11):
                page.mouse.move(x0 + xa + (xb - xa) * t / 10, y0 + ya + (yb - ya) * t / 10)
        page.mouse.up()
        if _ink_on_canvas(page):
            return
        page.wait_for_timeout(500)
    raise AssertionError("the canvas never took the stroke")


def _prediction(page, previous: str = "") -> str:
    """The big predicted digit, once the rerun after the last stroke has landed."""
    page.wait_for_function(
        "prev => { const d = document.querySelector('.st-key-predicted_digit');"
        " return d && d.innerText.trim() !== '' && d.innerText.trim() !== prev; }",
        arg=previous, timeout=30_000,
    )
    _wait_for_script(page)
    return page.locator(".st-key-predicted_digit").inner_text().strip()


def test_draw_a_one_then_a_seven(page):
    page.get_by_role("link", name="Draw a digit").first.click()
    page.locator("canvas.upper-canvas").first.wait_for()
    _wait_for_script(page)
    assert page.get_by_text("Draw a digit (or pick one)").count() == 1   # blank canvas: no guess

    _stroke(page, [(140, 40), (140, 240)])
    first = _prediction(page)
    assert first == "1"
    page.locator("[data-testid='stPlotlyChart']").nth(1).wait_for()   # the 28x28 input and the bars

    old_canvas = page.locator("canvas.upper-canvas").first.element_handle()
    page.get_by_role("button", name=re.compile("Clear the drawing")).click()
    page.wait_for_function("canvas => !canvas.isConnected", arg=old_canvas)   # a fresh canvas
    page.get_by_text("Draw a digit (or pick one)").wait_for()
    page.locator("canvas.upper-canvas").first.wait_for()
    _wait_for_script(page)
    _stroke(page, [(70, 50), (210, 50), (120, 240)])
    assert _prediction(page, previous="1") == "7"


def test_drawing_survives_a_visit_to_another_page(page):
    """Runs after the 7 was drawn: leave for the softmax page (which offers "your digit")
    and come back; the drawing and its prediction are still there."""
    page.get_by_role("link", name="Softmax vs log-softmax").first.click()
    _wait_for_script(page)
    page.get_by_text("Your digit").first.wait_for()
    page.get_by_role("link", name="Draw a digit").first.click()
    page.locator("canvas.upper-canvas").first.wait_for()
    _wait_for_script(page)
    page.wait_for_function("() => document.querySelector('.st-key-predicted_digit')")
    for _ in range(20):   # the canvas redraws the saved strokes a moment after it appears
        if _ink_on_canvas(page):
            break
        page.wait_for_timeout(250)
    assert _ink_on_canvas(page)
    assert page.locator(".st-key-predicted_digit").inner_text().strip() == "7"


def _new_browser_page(page):
    """A second, separate browser context: no shared cookies or storage, as another student."""
    other = page.context.browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    other.set_default_timeout(60_000)
    return other


def test_a_link_carries_the_drawn_digit_to_another_browser(page):
    """Runs after the 7 was drawn: the address bar holds a short id for the drawing, and
    opening it in another browser shows the same strokes and the same answer."""
    page.get_by_role("link", name="Draw a digit").first.click()
    _wait_for_script(page)
    page.wait_for_function("() => /[?&]digit=[0-9a-f]{12}/.test(location.search)")
    link = page.url
    other = _new_browser_page(page)
    try:
        other.goto(link)
        _wait_for_script(other)
        other.locator("canvas.upper-canvas").first.wait_for()
        for _ in range(20):
            if _ink_on_canvas(other):
                break
            other.wait_for_timeout(250)
        assert _ink_on_canvas(other)
        assert other.locator(".st-key-predicted_digit").inner_text().strip() == "7"
    finally:
        other.context.close()


def test_change_two_controls_and_open_the_link_elsewhere(page):
    page.get_by_role("link", name="Softmax vs log-softmax").first.click()
    _wait_for_script(page)
    page.get_by_text("MNIST test image").first.click()
    _wait_for_script(page)
    number = page.get_by_label("Test image number")
    number.fill("42")
    number.press("Enter")
    _wait_for_script(page)
    target = page.get_by_role("combobox", name="Target (the right answer)")
    target.click()
    target.press_sequentially("3")
    target.press("Enter")
    _wait_for_script(page)
    page.wait_for_function("() => location.search.includes('softmax_index=42') && "
                           "location.search.includes('softmax_target=3')")
    link = page.url
    caption = page.get_by_text(re.compile(r"Starting from the net's scores for MNIST test image 42")).inner_text()

    other = _new_browser_page(page)
    try:
        other.goto(link)
        _wait_for_script(other)
        expect(other.get_by_text(re.compile(r"Starting from the net's scores for MNIST test image 42"))).to_have_text(
            caption)
        _wait_for_script(other)   # on a busy machine the widgets can still be drawing when the caption is there
        expect(other.get_by_label("Test image number")).to_have_value("42", timeout=30_000)
        expect(other.get_by_text("For target 3:")).to_be_visible()
        assert other.url == link
    finally:
        other.context.close()


def test_an_edited_score_travels_by_link(page):
    """A data editor's cell, typed into: only a browser edits one. The edit goes into the
    address bar, and another browser opening it starts from the edited scores."""
    page.get_by_role("link", name="Softmax vs log-softmax").first.click()
    _wait_for_script(page)
    page.get_by_text("Type your own").first.click()
    expect(page.get_by_text("Starting from scores typed in by hand.", exact=False)).to_be_visible()
    _wait_for_script(page)
    grid = page.locator('[data-testid="stDataFrame"]').first
    row_height = 35   # Glide data grid's default; row 0 is the header
    edited = "() => decodeURIComponent(location.search).includes('softmax_scores=1,7,')"
    for attempt in range(4):   # the grid is rebuilt while the page reruns, and takes a moment to take keys
        try:
            expect(grid).to_be_visible()
            box = grid.bounding_box()
            page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + row_height * 2.5)   # class 1's score
            page.wait_for_timeout(500)   # the cell is selected
            page.keyboard.type("7")      # typing on a selected cell opens its editor
            page.wait_for_timeout(300)
            page.keyboard.press("Enter")
            page.wait_for_function(edited, timeout=10_000)
            break
        except Exception:
            if attempt == 3:
                raise
            _wait_for_script(page)
    link = page.url

    other = _new_browser_page(page)
    try:
        other.goto(link)
        _wait_for_script(other)
        expect(other.get_by_text("For target 3:")).to_be_visible()
        expect(other.get_by_text("p = 0.0177", exact=True)).to_be_visible()   # was 0.5065 before 7 went to class 1
        assert "softmax_scores=1%2C7%2C" in other.url
    finally:
        other.context.close()

    # Streamlit drops a data editor's edits while another page runs: the edit comes back all the same.
    page.get_by_role("link", name="Strides and the checkerboard").first.click()
    _wait_for_script(page)
    page.get_by_role("link", name="Softmax vs log-softmax").first.click()
    _wait_for_script(page)
    expect(page.get_by_text("p = 0.0177", exact=True)).to_be_visible()
    assert "softmax_scores=1%2C7%2C" in page.url
