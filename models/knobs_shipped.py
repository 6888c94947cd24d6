"""The heavier training-knob sweeps, run once and shipped as small JSON files (histories, no
weights) in checkpoints/knobs/, so the pages show them at once; each page can also run a
smaller version live.

    CNN_LAB_DATA=../shared/data python -m models.knobs_shipped [sweep ...] [--threads 1]

Every sweep is the GAP MNIST net on a seeded subset of the MNIST training set (1,000 to 6,000
images), tested on all 10,000 test images (the regularisation sweep: on 2,000 held-out training
images), 1 to 30 epochs: a few minutes each on a 2-core CPU.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch

from models import knobs
from models.init_study import symmetry_runs
from models.train import default_device, device_name

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "checkpoints" / "knobs"
TRAIN_IMAGES = 6_000


def _sets(train_images: int = TRAIN_IMAGES):
    from models import data

    full = data.load("mnist", train=True)
    return data.subset(full, train_images), data.load("mnist", train=False)


def _lr_sweep() -> dict:
    train_set, test_set = _sets()
    return knobs.lr_sweep(train_set, test_set, [0.001, 0.01, 0.05, 0.5, 5.0, 1000.0], epochs=2, budget=None)


def _lr_range_test() -> dict:
    train_set, _ = _sets(60_000)
    return knobs.lr_range_test(train_set, steps=200, budget=None)


def _batch_sweep() -> dict:
    train_set, test_set = _sets()
    return {scaled: knobs.batch_sweep(train_set, test_set, scale_lr=scaled == "scaled", epochs=2, budget=None)
            for scaled in ("fixed", "scaled")}


def _regularisation() -> dict:
    from models import data

    small, validation = knobs.split(data.load("mnist", train=True), (1_000, 2_000))
    return knobs.regularisation(small, validation, list(knobs.REGULARISERS), epochs=30, budget=None)


def _normalisation() -> dict:
    train_set, test_set = _sets()
    return {bn: knobs.normalisation_runs(train_set, test_set, batch_norm=bn == "with BN", epochs=2, budget=None)
            for bn in ("with BN", "without BN")}


def _symmetry() -> dict:
    train_set, test_set = _sets()
    return symmetry_runs(train_set, test_set, epochs=1, budget=None)


def _activations() -> dict:
    train_set, test_set = _sets()
    return knobs.activation_sweep(train_set, test_set, epochs=3, budget=None)


SWEEPS = {"lr_sweep": _lr_sweep, "lr_range_test": _lr_range_test, "batch_sweep": _batch_sweep,
          "regularisation": _regularisation, "normalisation": _normalisation, "symmetry": _symmetry,
          "activations": _activations}


def _plain(value):
    """JSON without NaN or infinities (as null), floats to 6 significant digits."""
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def load_shipped(name: str, folder: str | Path = SHIPPED_DIR) -> dict | None:
    """A shipped sweep ({"result", "machine", "seconds", "command", ...}), or None when absent or unreadable."""
    path = Path(folder) / f"{name}.json"
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return stored if isinstance(stored, dict) and "result" in stored else None


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Run the training-knob sweeps and write checkpoints/knobs/*.json.")
    parser.add_argument("sweeps", nargs="*", choices=[[], *SWEEPS], default=[])
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    SHIPPED_DIR.mkdir(parents=True, exist_ok=True)
    machine = device_name(default_device())
    for name in args.sweeps or list(SWEEPS):
        started = time.perf_counter()
        result = SWEEPS[name]()
        seconds = time.perf_counter() - started
        record = {"name": name, "result": _plain(result), "seconds": round(seconds, 1), "machine": machine,
                  "torch_version": torch.__version__,
                  "command": f"python -m models.knobs_shipped {name}"
                             + (f" --threads {args.threads}" if args.threads else "")}
        path = SHIPPED_DIR / f"{name}.json"
        path.write_text(json.dumps(record, allow_nan=False, separators=(",", ":")) + "\n")
        print(f"{name}: {seconds:.0f} s, wrote {path} ({path.stat().st_size:,} bytes)", flush=True)


if __name__ == "__main__":
    main()
