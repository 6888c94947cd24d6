import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CNN_LAB_DATA", str(ROOT / "data"))


def _data_present() -> bool:
    root = Path(os.environ["CNN_LAB_DATA"])
    mnist = (root / "MNIST" / "raw").is_dir()
    cifar = (root / "cifar10-jpg").is_dir() or (root / "cifar-10-batches-py").is_dir()
    return mnist and cifar


@pytest.fixture(scope="session")
def data_available() -> None:
    """MNIST and CIFAR-10 are in CNN_LAB_DATA: skip otherwise (fail in CI, where they must be)."""
    if not _data_present():
        if os.environ.get("CI"):
            pytest.fail(f"CNN_LAB_DATA={os.environ['CNN_LAB_DATA']} lacks MNIST or CIFAR-10")
        pytest.skip(f"MNIST and CIFAR-10 are not both in CNN_LAB_DATA={os.environ['CNN_LAB_DATA']}")
