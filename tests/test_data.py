import gzip
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from models import data


def test_mnist_from_shared_data(data_available):
    train, test = data.load("mnist", train=True), data.load("mnist", train=False)
    assert train.images.shape == (60_000, 1, 28, 28) and train.images.dtype == torch.uint8
    assert test.images.shape == (10_000, 1, 28, 28)
    assert train.labels.dtype == torch.int64 and set(train.labels.unique().tolist()) == set(range(10))
    # The published statistics of the MNIST training set.
    assert train.images.float().mean().item() / 255 == pytest.approx(0.1307, abs=1e-4)
    assert (train.images.float() / 255).std().item() == pytest.approx(0.3081, abs=1e-4)
    assert data.load("mnist", train=True) is train  # decoded once, then cached


def _write_idx(path, array, gz=False):
    header = (0x0800 | array.ndim).to_bytes(4, "big") + b"".join(
        n.to_bytes(4, "big") for n in array.shape
    )
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_mnist_in_torchvisions_layout_is_read_with_torchvision(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = np.random.default_rng(0).integers(0, 256, (7, 28, 28))
    _write_idx(raw / "t10k-images-idx3-ubyte", images)
    _write_idx(raw / "t10k-labels-idx1-ubyte", np.arange(7) % 10)
    test = data.load("mnist", train=False, root=tmp_path)
    assert test.images.shape == (7, 1, 28, 28) and test.images.dtype == torch.uint8
    assert torch.equal(test.images[:, 0], torch.from_numpy(images.astype(np.uint8)))
    assert test.labels.tolist() == list(range(7))


def test_compressed_mnist_files_are_named_in_the_message(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    _write_idx(raw / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28)), gz=True)
    with pytest.raises(data.DataNotFoundError, match="t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte"):
        data.load("mnist", train=False, root=tmp_path)


def test_cifar_image_folder_layout(tmp_path):
    rng = np.random.default_rng(1)
    pixels = {}
    for class_name in ("bird", "airplane"):
        folder = tmp_path / "cifar10-jpg" / "test" / class_name
        folder.mkdir(parents=True)
        for i in range(3):
            array = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(array).save(folder / f"{i:04d}.png")  # lossless, so pixels compare
            pixels[(class_name, i)] = array
    test = data.load("cifar10", train=False, root=tmp_path)
    assert test.images.shape == (6, 3, 32, 32)
    assert test.classes == data.CIFAR10_CLASSES
    assert test.labels.tolist() == [0, 0, 0, 2, 2, 2]   # labels follow CIFAR-10's class order
    assert np.array_equal(test.images[4].permute(1, 2, 0).numpy(), pixels[("bird", 1)])


def test_cifar_torchvision_layout(tmp_path, monkeypatch):
    import torchvision

    # torchvision checks each file's checksum against the official files; these are made here.
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *args: True)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(2)
    flat = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"data": flat, "labels": [3, 1, 4, 1]}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": list(data.CIFAR10_CLASSES)}, f)
    test = data.load("cifar10", train=False, root=tmp_path)
    assert test.images.shape == (4, 3, 32, 32)
    assert torch.equal(test.images[2].reshape(-1), torch.from_numpy(flat[2]))
    assert test.labels.tolist() == [3, 1, 4, 1]
    assert test.classes[3] == "cat"


def test_cifar_jpeg_copy_from_shared_data(data_available):
    test = data.load("cifar10", train=False)
    assert test.images.shape == (10_000, 3, 32, 32)
    assert test.labels.bincount().tolist() == [1000] * 10
    assert test.classes == data.CIFAR10_CLASSES


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_missing_data_says_where_it_looked(tmp_path, name):
    with pytest.raises(data.DataNotFoundError) as error:
        data.load(name, train=True, root=tmp_path / "nowhere")
    message = str(error.value)
    assert str(tmp_path / "nowhere") in message
    assert "CNN_LAB_DATA" in message


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset"):
        data.load("imagenet", train=True)


def test_normalise_matches_the_formula():
    images = torch.tensor([[[[0, 255]]]], dtype=torch.uint8)
    out = data.normalise(images, (0.5,), (0.25,))
    torch.testing.assert_close(out, torch.tensor([[[[-2.0, 2.0]]]]))


def test_image_folder_with_a_foreign_class_is_refused(tmp_path):
    folder = tmp_path / "cifar10-jpg" / "test" / "unicorn"
    folder.mkdir(parents=True)
    Image.new("RGB", (32, 32)).save(folder / "0.png")
    with pytest.raises(data.DataError, match="unicorn"):
        data.load("cifar10", train=False, root=tmp_path)


def test_truncated_mnist_file_is_a_clear_error(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    _write_idx(raw / "t10k-images-idx3-ubyte", np.zeros((5, 28, 28)))
    _write_idx(raw / "t10k-labels-idx1-ubyte", np.zeros(5))
    path = raw / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(data.DataError, match="truncated"):
        data.load("mnist", train=False, root=tmp_path)


def test_damaged_cifar_files_are_a_clear_error(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "test_batch").write_bytes(b"not the official file")
    with pytest.raises(data.DataError, match="incomplete or damaged"):
        data.load("cifar10", train=False, root=tmp_path)
