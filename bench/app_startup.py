"""How long until a student sees the app: from `streamlit run app.py` to the home page fully
rendered (sidebar with the model list) in headless Chromium, with the shipped checkpoints and
no dataset present.

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


def one_start(browser) -> tuple[float, float]:
    start = time.perf_counter()
    with streamlit_server() as url:
        healthy = time.perf_counter() - start
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector(".stApp[data-test-script-state='notRunning']", timeout=60_000)
        page.get_by_text("MNIST model").first.wait_for(timeout=60_000)
        rendered = time.perf_counter() - start
        page.close()
    return healthy, rendered


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
    for healthy, rendered in results:
        print(f"server answering after {healthy:.2f} s, home page rendered after {rendered:.2f} s")
    print(f"median time to a rendered home page: {statistics.median(r for _, r in results):.2f} s "
          f"on {os.cpu_count()} CPU cores (target < 3 s)")


if __name__ == "__main__":
    main()
