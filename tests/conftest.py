import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CNN_LAB_DATA", str(ROOT / "data"))


def _data_present() -> bool:
    root = Path(os.environ["CNN_LAB_DATA"])
    return (root / "MNIST" / "raw").is_dir()


@pytest.fixture(scope="session")
def data_available() -> None:
    if not _data_present():
        if os.environ.get("CI"):
            pytest.fail(f"CNN_LAB_DATA={os.environ['CNN_LAB_DATA']} holds no datasets")
        pytest.skip(f"no datasets in CNN_LAB_DATA={os.environ['CNN_LAB_DATA']}")
