import numpy as np
import pytest
import torch
from torch import nn

from models import checkpoints, data
from models.kernels import (
    crop, kernel_tiles, maximise_activation, size_table, teaching_net, top_patches, unit_activations,
)
from tests.shipped import GAP_MNIST, RESNET20


def test_kernel_tiles_shapes_and_shared_scale():
    weight = torch.randn(16, 3, 7, 7)
    tiles = kernel_tiles(weight, colour=True)
    assert tiles.shape == (16, 7, 7, 3) and tiles.min() >= 0 and tiles.max() <= 1
    assert np.isclose(max(tiles.max(), 1 - tiles.min()), 1.0)   # the largest |weight| sets the scale
    grey = kernel_tiles(torch.randn(8, 4, 3, 3), colour=False)
    assert grey.shape == (8, 3, 3)


@pytest.mark.parametrize("path", [GAP_MNIST, RESNET20], ids=lambda p: p.name)
def test_trained_kernels_differ_from_their_initial_values(path):
    trained, _ = checkpoints.load(path)
    initial, _ = checkpoints.load(path, weights="init")
    first = lambda net: next(m for m in net.modules() if isinstance(m, nn.Conv2d)).weight   # noqa: E731
    assert not np.allclose(kernel_tiles(first(trained), colour=False), kernel_tiles(first(initial), colour=False))


def test_top_patches_are_the_k_highest(data_available):
    model, meta = checkpoints.load(GAP_MNIST)
    test_set = data.load("mnist", train=False)
    images = data.normalise(test_set.images[:300], meta["mean"], meta["std"])
    activations = unit_activations(model, "conv3.2", images)
    for channel in (0, 5):
        found = top_patches(activations, channel, k=5)
        brute = []
        for n in range(activations.shape[0]):
            best = max((float(activations[n, channel, r, c]), r, c)
                       for r in range(activations.shape[2]) for c in range(activations.shape[3]))
            brute.append((best[0], n))
        brute.sort(reverse=True)
        assert [n for _, n, _, _ in found] == [n for _, n in brute[:5]]
        assert [v for v, _, _, _ in found] == pytest.approx([v for v, _ in brute[:5]])


def test_crop_pads_outside_the_image():
    image = np.arange(16).reshape(4, 4)
    assert crop(image, (-1, -1, 1, 1)).tolist() == [[0, 0, 0], [0, 0, 1], [0, 4, 5]]


def test_activation_maximisation_beats_the_dataset(data_available):
    model, meta = checkpoints.load(GAP_MNIST)
    test_set = data.load("mnist", train=False)
    images = data.normalise(test_set.images[:500], meta["mean"], meta["std"])
    dataset_best = unit_activations(model, "conv3.2", images)[:, 2].mean((1, 2)).max().item()
    image, reached = maximise_activation(model, "conv3.2", 2, (1, 28, 28), steps=150)
    again, reached_again = maximise_activation(model, "conv3.2", 2, (1, 28, 28), steps=150)
    assert reached > dataset_best
    assert torch.equal(image, again) and reached == reached_again   # seeded, deterministic


def test_course_table_for_the_400x400_net():
    rows = size_table(teaching_net(), (3, 400, 400))
    convs = [r for r in rows if r["kind"] == "Conv2d"]
    assert [r["receptive field"] for r in convs[:5]] == [3, 5, 7, 9, 11]
    assert [r["output"] for r in convs[:5]] == ["398×398×32", "396×396×64", "394×394×128", "392×392×256",
                                                "390×390×512"]
    pool = next(r for r in rows if r["kind"] == "MaxPool2d")
    assert pool["output"] == "195×195×512" and pool["receptive field"] == 12 and pool["jump"] == 2
    transition = rows[rows.index(pool) + 1]
    assert transition["output"] == "195×195×32" and transition["receptive field"] == 12
