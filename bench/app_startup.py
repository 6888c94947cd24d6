"""How long until a student sees the app: from `streamlit run app.py` to the home page with
the sidebar's model list in headless Chromium, and to the sidebar's last line (the training
device, which needs torch), with the shipped checkpoints and no dataset present.

    python bench/app_startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e_server import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402


def one_start(browser) -> tuple[float, float, float]:
    start = time.perf_counter()
    with streamlit_server() as server:
        healthy = time.perf_counter() - start
        page = browser.new_page()
        page.goto(server.url)
        page.get_by_text("MNIST model").first.wait_for(timeout=60_000)   # home page and model list
        rendered = time.perf_counter() - start
        page.get_by_text("Training runs on").first.wait_for(timeout=60_000)   # the last line: torch loaded
        complete = time.perf_counter() - start
        page.close()
    return healthy, rendered, complete


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ["CNN_LAB_DATA"] = tempfile.mkdtemp(prefix="no-data-")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        results = [one_start(browser) for _ in range(args.runs)]
        browser.close()
    for healthy, rendered, complete in results:
        print(f"server answering after {healthy:.2f} s, home page with its model list after {rendered:.2f} s, "
              f"sidebar complete (device line) after {complete:.2f} s")
    print(f"median: home page usable after {statistics.median(r[1] for r in results):.2f} s, complete after "
          f"{statistics.median(r[2] for r in results):.2f} s, on {os.cpu_count()} CPU cores (target < 3 s)")


if __name__ == "__main__":
    main()
