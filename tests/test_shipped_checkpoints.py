"""The checkpoints in checkpoints/ load and still reach their recorded accuracy on the full
test sets."""

import pytest
import torch

from models import checkpoints, count_parameters, data
from models.train import evaluate, with_stem
from tests.shipped import GAP_MNIST, RESNET20


def _load_or_fail(path):
    assert path.is_file(), f"{path.name} is missing from checkpoints/"
    return checkpoints.load(path)


def test_gap_mnist_checkpoint(data_available):
    model, meta = _load_or_fail(GAP_MNIST)
    accuracy = evaluate(model, data.load("mnist", train=False))
    assert accuracy == pytest.approx(meta["test_accuracy"], abs=0.0015)
    assert accuracy >= 0.994
    assert count_parameters(model) == meta["parameters"] < 20_000
    assert meta["epochs"] <= 15
    assert meta["mean"] == [0.1307] and meta["std"] == [0.3081]
    assert not any(isinstance(m, torch.nn.Linear) for m in model.modules())


def test_resnet20_checkpoint(data_available):
    model, meta = _load_or_fail(RESNET20)
    accuracy = evaluate(model, data.load("cifar10", train=False), batch_size=500)
    assert accuracy == pytest.approx(meta["test_accuracy"], abs=0.0015)
    assert meta["dataset"] == "cifar10" and meta["classes"] == list(data.CIFAR10_CLASSES)
    assert 260_000 < count_parameters(model) == meta["parameters"] < 280_000


@pytest.mark.parametrize("path", [GAP_MNIST, RESNET20], ids=lambda p: p.name)
def test_weights_before_training_are_kept(path):
    trained, meta = _load_or_fail(path)
    initial, _ = checkpoints.load(path, weights="init")
    first_conv = next(m for m in trained.modules() if isinstance(m, torch.nn.Conv2d))
    first_conv_init = next(m for m in initial.modules() if isinstance(m, torch.nn.Conv2d))
    assert not torch.equal(first_conv.weight, first_conv_init.weight)
    for key in ("dataset", "mean", "std", "test_accuracy", "parameters", "epochs",
                "train_seconds", "device", "torch_version", "command", "history"):
        assert key in meta, key
    assert len(meta["history"]) == meta["epochs"]


@pytest.mark.parametrize("name", ["plain20", "plain56", "resnet20", "resnet56"])
def test_plain_vs_residual_checkpoints(name, data_available):
    """Figure 6 on all 50,000 images, the four nets trained with one recipe."""
    from models.residual_study import NETS, RUN_PATHS

    model, meta = _load_or_fail(RUN_PATHS[name])
    _, reference = _load_or_fail(RUN_PATHS["resnet20"])
    depth, residual = NETS[name]
    assert model.layer1[0].residual is residual
    assert sum(isinstance(m, torch.nn.Conv2d) for m in model.modules()) == depth - 1
    assert meta["train_images"] == 50_000 and meta["config"] == reference["config"]
    accuracy = evaluate(model, data.load("cifar10", train=False), batch_size=500)
    assert accuracy == pytest.approx(meta["test_accuracy"], abs=0.0015)
    assert len(meta["history"]) == meta["epochs"] and meta["history"][-1]["test_accuracy"] == meta["test_accuracy"]


@pytest.mark.parametrize("stem", [7, 11])
def test_resnet20_checkpoints_with_large_stems(stem, data_available):
    from tests.shipped import CHECKPOINTS

    model, meta = _load_or_fail(CHECKPOINTS / f"resnet20_k{stem}_cifar10.pt")
    _, three = _load_or_fail(RESNET20)
    assert meta["name"] == with_stem(three["name"], stem)   # trained as the 3x3 net was: the Kernels page compares them
    assert meta["config"] == three["config"] and meta["train_images"] == three["train_images"]
    assert model.stem.kernel_size == (stem, stem)
    accuracy = evaluate(model, data.load("cifar10", train=False), batch_size=500)
    assert accuracy == pytest.approx(meta["test_accuracy"], abs=0.0015)
    initial, _ = checkpoints.load(CHECKPOINTS / f"resnet20_k{stem}_cifar10.pt", weights="init")
    assert not torch.equal(model.stem.weight, initial.stem.weight)


# The deeper ResNets shipped for the course's 91 % bar, each 100 epochs with Cutout and a second,
# gentler 40-epoch cycle from those weights: (file stem, depth, first run's recipe, reaches 91 %).
# The README and the Plain-vs-residual page state which of them reaches the bar.
COURSE_BAR_NETS = [
    ("resnet32_long_cycle2", 32, "resnet32-long", False),
    ("resnet44_long_cycle2", 44, "resnet44-long", True),
    ("resnet56_long_cutout_cycle2", 56, "resnet56-long-cutout", True),
]


@pytest.mark.parametrize("stem, depth, first, reaches_bar", COURSE_BAR_NETS, ids=[n[0] for n in COURSE_BAR_NETS])
def test_the_nets_shipped_for_the_course_bar(stem, depth, first, reaches_bar, data_available):
    from tests.shipped import CHECKPOINTS

    model, meta = _load_or_fail(CHECKPOINTS / f"{stem}_cifar10.pt")
    assert meta["name"] == f"{first}-cycle2" and meta["continues"]["name"] == first
    assert meta["epochs"] == len(meta["history"]) == 140 and meta["continues"]["epochs"] == 100
    assert [row["epoch"] for row in meta["history"]] == list(range(1, 141))
    assert sum(isinstance(m, torch.nn.Conv2d) for m in model.modules()) == depth - 1 and model.layer1[0].residual
    accuracy = evaluate(model, data.load("cifar10", train=False), batch_size=500)
    assert accuracy == pytest.approx(meta["test_accuracy"], abs=0.0015)
    assert (accuracy >= 0.91) is reaches_bar
