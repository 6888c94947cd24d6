"""A class at once: N browser sessions (Playwright pages in one headless Chromium) against
the real server on localhost. Each session opens "Feature maps" and "Grad-CAM" on its own
MNIST test digit and draws a digit on the canvas; we time each until its result is on
screen. Then the same again while one more session trains the batch-norm twins on the
worker. Reports median and 95th percentile, errors, and the server's peak memory.

    CNN_LAB_DATA=../shared/data python bench/load_test.py [--sessions 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e_server import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402

IDLE = ".stApp[data-test-script-state='notRunning']"
TIMEOUT = 180_000


async def settle(page) -> None:
    await page.wait_for_selector(IDLE, timeout=TIMEOUT)


async def timed(label: str, results: dict, action) -> None:
    start = time.perf_counter()
    try:
        await action()
        results.setdefault(label, []).append(time.perf_counter() - start)
    except Exception as error:   # a failed session is a result too
        results.setdefault("errors", []).append(f"{label}: {type(error).__name__}: {str(error)[:120]}")


async def one_student(browser, url: str, index: int, results: dict) -> None:
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(TIMEOUT)
    page = await context.new_page()

    async def feature_maps():
        await page.goto(f"{url}/feature_maps")
        await settle(page)
        await page.get_by_label("Test image number").first.fill(str(index))
        await page.keyboard.press("Enter")
        await page.wait_for_function(f"() => document.body.innerText.includes('MNIST test image {index} (')",
                                     timeout=TIMEOUT)
        await settle(page)
        await page.locator("[data-testid='stPlotlyChart']").nth(3).wait_for(timeout=TIMEOUT)

    async def gradcam():
        await page.goto(f"{url}/gradcam")
        await settle(page)
        await page.locator("[data-testid='stPlotlyChart']").nth(2).wait_for(timeout=TIMEOUT)

    async def draw():
        await page.goto(f"{url}/draw_digit")
        await settle(page)
        canvas = page.locator("canvas.upper-canvas").first
        await canvas.wait_for(timeout=TIMEOUT)
        box = await canvas.bounding_box()
        for _ in range(20):   # the canvas wires up its handlers a moment after it appears
            await page.mouse.move(box["x"] + 140, box["y"] + 40)
            await page.mouse.down()
            for step in range(1, 11):
                await page.mouse.move(box["x"] + 140, box["y"] + 40 + 20 * step)
            await page.mouse.up()
            try:
                await page.locator(".st-key-predicted_digit").wait_for(timeout=3000)
                break
            except Exception:
                continue
        await page.locator(".st-key-predicted_digit").wait_for(timeout=TIMEOUT)

    for label, action in (("feature maps", feature_maps), ("Grad-CAM", gradcam), ("draw a digit", draw)):
        await timed(label, results, action)
    await context.close()


async def start_training(browser, url: str):
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{url}/batch_norm")
    await settle(page)
    await page.get_by_text("Steps").first.wait_for()
    await page.get_by_role("button", name="Train both nets").click()
    await page.get_by_text("step").first.wait_for(timeout=TIMEOUT)
    return page


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def summary(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{label:14s} median {statistics.median(ordered):6.2f} s, p95 {p95:6.2f} s, n={len(ordered)}"


async def main(sessions: int) -> None:
    from playwright.async_api import async_playwright

    with streamlit_server() as server:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            warm = await browser.new_page()     # the first visit loads models and datasets
            await warm.goto(server.url)
            await settle(warm)
            for path in ("/feature_maps", "/gradcam"):
                await warm.goto(server.url + path)
                await settle(warm)
            for training in (False, True):
                trainer = await start_training(browser, server.url) if training else None
                results: dict = {}
                start = time.perf_counter()
                await asyncio.gather(*(one_student(browser, server.url, i, results) for i in range(sessions)))
                wall = time.perf_counter() - start
                print(f"\n{sessions} sessions at once{' while the worker trains the BN twins' if training else ''}"
                      f" ({wall:.0f} s in all):")
                for label in ("feature maps", "Grad-CAM", "draw a digit"):
                    if results.get(label):
                        print("  " + summary(label, results[label]))
                errors = results.get("errors", [])
                print(f"  errors: {len(errors)}" + "".join(f"\n    {e}" for e in errors[:5]))
                if trainer is not None:
                    await trainer.get_by_role("button", name="Stop").click()
            await browser.close()
        print(f"\nserver peak memory (VmHWM): {peak_memory_mb(server.pid):.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=30)
    asyncio.run(main(parser.parse_args().sessions))
