import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CNN_LAB_DATA", str(ROOT / "data"))
# Tests leave no trace and read none: nets, digits, lessons and the leaderboard they save go to
# a folder of their own, never the developer's ./runs (a test that needs an empty one makes it).
os.environ["CNN_LAB_RUNS"] = tempfile.mkdtemp(prefix="cnn-lab-test-runs-")


def full_data_problem(root: Path) -> str | None:
    """Why the full MNIST and CIFAR-10 sets are not usable under `root`, or None when they are."""
    from models.data import full_data_present

    missing = [name for name in ("mnist", "cifar10") if not full_data_present(name, root)]
    if not missing:
        return None
    return (f"the full {' and '.join(missing)} data set{'s are' if len(missing) > 1 else ' is'} not in "
            f"CNN_LAB_DATA={root}; set CNN_LAB_DATA to a folder that has them to run this test")


def require_full_data(root: Path, ci: bool) -> None:
    """Skip (with the reason) a test that needs the full datasets where they are absent; under CI
    (CI=true) fail instead, so nothing is skipped silently there."""
    problem = full_data_problem(root)
    if problem is None:
        return
    if ci:
        pytest.fail(f"CI=true but {problem}")
    pytest.skip(problem)


def running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def data_available() -> None:
    """MNIST and CIFAR-10 are in CNN_LAB_DATA: skip otherwise (fail in CI, where they must be)."""
    require_full_data(Path(os.environ["CNN_LAB_DATA"]), running_in_ci())
