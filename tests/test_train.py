import threading

import pytest
import torch

from models import build
from models.augment import random_affine, random_crop_flip
from models.data import ImageSet, MNIST_CLASSES, load
from models.train import TrainConfig, evaluate, train


@pytest.fixture(scope="module")
def small_mnist(data_available):
    train_set, test_set = load("mnist", train=True), load("mnist", train=False)
    subset = lambda s, n: ImageSet(s.name, s.images[:n], s.labels[:n], s.classes)  # noqa: E731
    return subset(train_set, 1024), subset(test_set, 500)


def _config(**kwargs):
    defaults = dict(epochs=1, batch_size=64, lr=0.05, device="cpu", report_every=1)
    return TrainConfig(**{**defaults, **kwargs})


def test_training_lowers_the_loss(small_mnist):
    torch.manual_seed(0)
    model = build("gap-mnist")
    train_set, test_set = small_mnist
    before = evaluate(model, test_set)
    result = train(model, train_set, test_set, _config(epochs=2))
    losses = [loss for _, loss in result.step_losses]
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5
    assert len(result.history) == 2 and not result.stopped
    assert result.test_accuracy > before + 0.2   # 32 steps: far from done, but learning


def test_same_seed_same_run(small_mnist):
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        model = build("gap-mnist")
        runs.append(train(model, small_mnist[0], None, _config()).step_losses)
    assert runs[0] == runs[1]


def test_progress_reports_and_stop_mid_epoch(small_mnist):
    stop = threading.Event()
    seen = []

    def on_progress(progress):
        seen.append(progress)
        if progress.step == 5:
            stop.set()

    model = build("gap-mnist")
    result = train(model, small_mnist[0], small_mnist[1], _config(epochs=3), on_progress, stop)
    assert result.stopped
    assert [p.step for p in seen] == [1, 2, 3, 4, 5]
    assert result.history == []   # no epoch finished
    assert not model.training      # handed back ready for inference


def test_epoch_end_reports_accuracy(small_mnist):
    seen = []
    train(build("gap-mnist"), small_mnist[0], small_mnist[1], _config(report_every=1000), seen.append)
    assert len(seen) == 1 and seen[0].epoch_end
    assert 0 <= seen[0].test_accuracy <= 1 and seen[0].train_accuracy is not None


def test_batch_larger_than_dataset_is_a_clear_error():
    tiny = ImageSet("mnist", torch.zeros(10, 1, 28, 28, dtype=torch.uint8), torch.zeros(10, dtype=torch.long), MNIST_CLASSES)
    with pytest.raises(ValueError, match="batch size"):
        train(build("gap-mnist"), tiny, None, _config(batch_size=64))


def test_crop_flip_moves_pixels_but_keeps_content():
    generator = torch.Generator().manual_seed(0)
    images = torch.zeros(64, 3, 32, 32)
    images[:, :, 10, 12] = 1.0   # one bright pixel
    out = random_crop_flip(images, padding=4, generator=generator)
    assert out.shape == images.shape
    assert torch.equal(out.sum((1, 2, 3)), torch.full((64,), 3.0))   # pixel kept (shift <= 4)
    positions = {tuple(torch.nonzero(o[0])[0].tolist()) for o in out}
    assert len(positions) > 10   # many different shifts/flips
    for row, col in positions:
        assert 6 <= row <= 14
        assert 8 <= col <= 16 or 15 <= col <= 23   # shifted, or mirrored then shifted


def test_affine_keeps_digits_recognisable():
    generator = torch.Generator().manual_seed(0)
    images = torch.zeros(16, 1, 28, 28)
    images[:, :, 8:20, 12:16] = 255.0
    out = random_affine(images, max_degrees=10, max_shift=2, generator=generator)
    assert out.shape == images.shape
    assert not torch.equal(out, images)
    mass = out.sum((1, 2, 3)) / images.sum((1, 2, 3))
    assert torch.all((mass > 0.9) & (mass < 1.1))   # rotated/shifted, nothing cut off


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_few_steps_on_the_gpu(small_mnist):
    model = build("gap-mnist")
    result = train(model, small_mnist[0], small_mnist[1], _config(device="cuda", epochs=1))
    assert result.device.startswith("cuda") and result.history[0]["test_accuracy"] > 0.2
    assert next(model.parameters()).device.type == "cuda"
