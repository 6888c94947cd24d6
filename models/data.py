"""MNIST and CIFAR-10 as uint8 image tensors (N, C, H, W) plus int64 labels.

The data root is the CNN_LAB_DATA environment variable (default ./data). Layouts read:
- MNIST: torchvision's `<root>/MNIST/raw/*-ubyte` (plain or .gz);
- CIFAR-10: torchvision's `<root>/cifar-10-batches-py`, or the ImageFolder layout
  `<root>/cifar10-jpg/{train,test}/<class>/*.jpg`.
Each split is decoded once per process and kept in memory.

A fixed sample of both test sets (100 images per class) ships in models/samples/, so the pages
that show or probe images work on a fresh clone: `test_images(name)` gives the full test set
when it is there and that sample otherwise. Training needs the full sets (`load`).
"""

from __future__ import annotations

import functools
import gzip
import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

MNIST_CLASSES = tuple(str(d) for d in range(10))
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
# The model's input is (pixels / 255 - mean) / std, per channel.
NORMALISATION = {
    "mnist": ((0.1307,), (0.3081,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
SAMPLE_PER_CLASS = 100
TITLES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}


class DataError(Exception):
    """A dataset cannot be used; the message says why and what to do."""


class DataNotFoundError(DataError, FileNotFoundError):
    """A dataset is not where we looked; the message says where and what to do."""


@dataclass(frozen=True)
class ImageSet:
    name: str                 # "mnist" or "cifar10"
    images: torch.Tensor      # uint8 (N, C, H, W)
    labels: torch.Tensor      # int64 (N,)
    classes: tuple[str, ...]
    source: str = ""          # where the images come from, in words (set by load / test_images)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def mean(self) -> tuple[float, ...]:
        return NORMALISATION[self.name][0]

    @property
    def std(self) -> tuple[float, ...]:
        return NORMALISATION[self.name][1]


def data_root() -> Path:
    return Path(os.environ.get("CNN_LAB_DATA", "./data"))


def load(name: str, train: bool, root: str | Path | None = None, download: bool = False) -> ImageSet:
    """`load("mnist", train=False)` -> the 10,000 MNIST test images."""
    root = Path(root) if root is not None else data_root()
    if name == "mnist":
        return _load_mnist(str(root.resolve()), train, download)
    if name == "cifar10":
        return _load_cifar10(str(root.resolve()), train, download)
    raise ValueError(f"unknown dataset {name!r}; expected 'mnist' or 'cifar10'")


def test_images(name: str) -> ImageSet:
    """The images pages show and probe: the full test set when it is in the data root, else the
    sample that ships with the app (its `source` says which)."""
    try:
        return load(name, train=False)
    except DataNotFoundError:
        return load_sample(name)


def full_data_present(name: str, root: str | Path | None = None) -> bool:
    """Whether the training and test files of `name` are in the data root (not decoded here)."""
    root = Path(root) if root is not None else data_root()
    if name == "mnist":
        raw = root / "MNIST" / "raw"
        return all(_find_idx(raw, stem) for files in _MNIST_FILES.values() for stem in files)
    batches, folder = root / "cifar-10-batches-py", root / "cifar10-jpg"
    return batches.is_dir() or ((folder / "train").is_dir() and (folder / "test").is_dir())


def missing_data_message(name: str) -> str:
    """What to do when a page needs the full `name` data set (to train) and it is not there."""
    where = {"mnist": "MNIST/raw/ (the four *-ubyte files)",
             "cifar10": "cifar-10-batches-py/ (torchvision's files) or cifar10-jpg/{train,test}/<class>/*.jpg"}[name]
    return (f"Training needs the full {TITLES[name]} data set, which is not in {data_root().resolve()}. "
            f"On a machine with internet run `python -m models.data --download` (it fills that folder), "
            f"or copy the files there as {where}; set CNN_LAB_DATA to use another folder.")


@functools.lru_cache(maxsize=None)
def load_sample(name: str) -> ImageSet:
    """The shipped sample of `name`'s test set: SAMPLE_PER_CLASS images of each class."""
    if name not in NORMALISATION:
        raise ValueError(f"unknown dataset {name!r}; expected 'mnist' or 'cifar10'")
    with np.load(SAMPLES_DIR / f"{name}_test_sample.npz") as stored:
        images, labels = torch.from_numpy(stored["images"]), torch.from_numpy(stored["labels"].astype(np.int64))
    classes = MNIST_CLASSES if name == "mnist" else CIFAR10_CLASSES
    return ImageSet(name, images, labels, classes,
                    f"the {len(labels):,}-image sample of the {TITLES[name]} test set that ships with the app")


def write_sample(name: str, root: str | Path | None = None) -> Path:
    """Write the first SAMPLE_PER_CLASS test images of each class (in test-set order) to SAMPLES_DIR."""
    test = load(name, train=False, root=root)
    chosen = torch.cat([torch.nonzero(test.labels == c).flatten()[:SAMPLE_PER_CLASS] for c in range(len(test.classes))])
    chosen = chosen.sort().values
    SAMPLES_DIR.mkdir(exist_ok=True)
    path = SAMPLES_DIR / f"{name}_test_sample.npz"
    np.savez_compressed(path, images=test.images[chosen].numpy(), labels=test.labels[chosen].numpy().astype(np.uint8),
                        test_index=chosen.numpy().astype(np.uint16))
    return path


def subset(images: ImageSet, count: int, seed: int = 0) -> ImageSet:
    """`count` images drawn without replacement by a seeded permutation (the same every time)."""
    if not 0 < count <= len(images):
        raise ValueError(f"a subset needs 1 to {len(images)} images, not {count}")
    chosen = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:count]
    return ImageSet(images.name, images.images[chosen], images.labels[chosen], images.classes,
                    f"{count:,} images drawn from {images.source or images.name}")


def normalise(images: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """uint8 or [0, 255] float images -> the net's input (pixels / 255 - mean) / std."""
    shape = (1, -1, 1, 1)
    mean_t = torch.tensor(mean, device=images.device).view(shape)
    std_t = torch.tensor(std, device=images.device).view(shape)
    return (images.float() / 255 - mean_t) / std_t


# --- MNIST -----------------------------------------------------------------------------------

_MNIST_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@functools.lru_cache(maxsize=None)
def _load_mnist(root: str, train: bool, download: bool) -> ImageSet:
    raw = Path(root) / "MNIST" / "raw"
    image_file, label_file = (_find_idx(raw, stem) for stem in _MNIST_FILES[train])
    if (image_file is None or label_file is None) and download:
        import torchvision

        torchvision.datasets.MNIST(root, train=train, download=True)
        image_file, label_file = (_find_idx(raw, stem) for stem in _MNIST_FILES[train])
    if image_file is None or label_file is None:
        raise DataNotFoundError(
            f"MNIST {'training' if train else 'test'} files not found in {raw} "
            f"(looked for {' and '.join(_MNIST_FILES[train])}, plain or .gz). "
            "Set CNN_LAB_DATA to the folder that contains MNIST/raw, or run "
            "`python -m models.data --download` once on a machine with internet."
        )
    images = torch.from_numpy(_read_idx(image_file)).unsqueeze(1)
    labels = torch.from_numpy(_read_idx(label_file).astype(np.int64))
    return ImageSet("mnist", images, labels, MNIST_CLASSES,
                    f"the MNIST {'training' if train else 'test'} set ({len(labels):,} images)")


def _find_idx(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic >> 8 != 0x08:  # 0x08 = unsigned byte
        raise DataError(f"{path} is not an IDX file of unsigned bytes; download it again")
    ndim = magic & 0xFF
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != np.prod(shape):
        raise DataError(f"{path} is truncated ({body.size} of {np.prod(shape)} bytes); download it again")
    return body.reshape(shape).copy()


# --- CIFAR-10 --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _load_cifar10(root: str, train: bool, download: bool) -> ImageSet:
    batches = Path(root) / "cifar-10-batches-py"
    folder = Path(root) / "cifar10-jpg" / ("train" if train else "test")
    if not batches.is_dir() and not folder.is_dir() and download:
        import torchvision

        torchvision.datasets.CIFAR10(root, train=train, download=True)
    split = "training" if train else "test"
    if batches.is_dir():
        found = _read_cifar_batches(batches, train)
        return replace(found, source=f"the CIFAR-10 {split} set ({len(found):,} images)")
    if folder.is_dir():
        found = read_image_folder(folder, "cifar10", CIFAR10_CLASSES)
        return replace(found, source=f"the CIFAR-10 {split} set ({len(found):,} images, JPEG copy)")
    raise DataNotFoundError(
        f"CIFAR-10 not found: looked for {batches} (torchvision's layout) and {folder} "
        "(ImageFolder layout: <class>/<image>.jpg). Set CNN_LAB_DATA to the folder that "
        "contains one of them, or run `python -m models.data --download` once on a machine "
        "with internet."
    )


def _read_cifar_batches(folder: Path, train: bool) -> ImageSet:
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    images, labels = [], []
    for name in names:
        with open(folder / name, "rb") as f:
            # torchvision's own reader does the same: the official files are pickles.
            entry = pickle.load(f, encoding="latin1")
        images.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.extend(entry["labels"])
    return ImageSet(
        "cifar10",
        torch.from_numpy(np.concatenate(images)),
        torch.tensor(labels, dtype=torch.int64),
        CIFAR10_CLASSES,
    )


def read_image_folder(folder: Path, name: str, classes: tuple[str, ...]) -> ImageSet:
    """An ImageFolder tree (<class>/<image>) -> one ImageSet. Labels are positions in
    `classes`, whichever class folders are present."""
    folders = sorted(p.name for p in folder.iterdir() if p.is_dir())
    unknown = [f for f in folders if f not in classes]
    if unknown:
        raise DataError(f"{folder} has folders that are no {name} class: {', '.join(unknown)}")
    paths, labels = [], []
    for class_name in folders:
        files = sorted(p for p in (folder / class_name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        paths.extend(files)
        labels.extend([classes.index(class_name)] * len(files))
    if not paths:
        raise DataNotFoundError(f"no images found under {folder}/<class>/")
    # Pillow releases the GIL while decoding, so threads use every core.
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        decoded = list(pool.map(_decode_rgb, paths))
    sizes = {array.shape for array in decoded}
    if len(sizes) > 1:
        raise DataError(f"images under {folder} differ in size: {sorted(sizes)[:3]}")
    images = torch.from_numpy(np.stack(decoded)).permute(0, 3, 1, 2).contiguous()
    return ImageSet(name, images, torch.tensor(labels, dtype=torch.int64), classes)


def _decode_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Check (or download) CNN Lab's datasets.")
    parser.add_argument("--download", action="store_true", help="fetch missing data (needs internet)")
    parser.add_argument("--write-samples", action="store_true",
                        help=f"rewrite the shipped test-set samples in {SAMPLES_DIR} from the full test sets")
    args = parser.parse_args()
    for name in ("mnist", "cifar10"):
        for train in (True, False):
            found = load(name, train, download=args.download)
            print(f"{name} {'train' if train else 'test'}: {tuple(found.images.shape)} from {data_root()}")
        if args.write_samples:
            print(f"wrote {write_sample(name)}")


if __name__ == "__main__":
    _main()
