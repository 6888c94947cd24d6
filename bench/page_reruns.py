"""Time of a full page rerun, per page, measured with Streamlit's AppTest on this machine
(what a student waits for after moving a slider, less the browser's drawing).

    CNN_LAB_DATA=../shared/data python bench/page_reruns.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# page, the state that picks an input, the key that varies between reruns and its values
CASES = [
    ("pages/draw_digit.py", {"digit_source": "MNIST test image"}, "digit_index", range(10)),
    ("pages/softmax.py", {"softmax_source": "MNIST test image"}, "softmax_index", range(10)),
    ("pages/feature_maps.py", {"fm_dataset": "MNIST"}, "fm_mnist_index", range(10)),
    ("pages/feature_maps.py", {"fm_dataset": "CIFAR-10"}, "fm_cifar10_index", range(10)),
    ("pages/convolution.py", {}, "cv_index", range(10)),
    ("pages/gradcam.py", {"gc_dataset": "MNIST"}, "gc_mnist_index", range(10)),
    ("pages/gradcam.py", {"gc_dataset": "CIFAR-10"}, "gc_cifar10_index", range(10)),
    ("pages/strides.py", {}, "sd_cifar10_index", range(10)),
]


def main() -> None:
    from streamlit.testing.v1 import AppTest

    print(f"CPU, {torch.get_num_threads()} threads, torch {torch.__version__}")
    for page, state, key, values in CASES:
        at = AppTest.from_file(str(ROOT / page), default_timeout=120)
        for name, value in state.items():
            at.session_state[name] = value
        at.run()   # the first run loads models and datasets
        timings = []
        for value in values:
            at.session_state[key] = value
            start = time.perf_counter()
            at.run()
            timings.append((time.perf_counter() - start) * 1000)
            if at.exception or at.error:
                raise SystemExit(f"{page} failed: {[e.value for e in list(at.exception) + list(at.error)]}")
        label = f"{page} ({', '.join(f'{v}' for v in state.values()) or 'defaults'})"
        print(f"{label:55s} median {statistics.median(timings):6.0f} ms, max {max(timings):6.0f} ms "
              f"over {len(timings)} reruns")


if __name__ == "__main__":
    main()
