"""Paths of the checkpoints that ship with the app."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ROOT / "checkpoints"
GAP_MNIST = CHECKPOINTS / "gap_mnist.pt"
RESNET20 = CHECKPOINTS / "resnet20_cifar10.pt"


def shown(markdown: str) -> str:
    """What a student reads of a markdown message: escaped characters as themselves."""
    import re

    return re.sub(r"\\(.)", r"\1", markdown)
