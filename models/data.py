"""MNIST and CIFAR-10 as uint8 image tensors (N, C, H, W) plus int64 labels.

The data root is the CNN_LAB_DATA environment variable (default ./data). Layouts read:
- MNIST: torchvision's `<root>/MNIST/raw/*-ubyte` (read by torchvision.datasets.MNIST);
- CIFAR-10: torchvision's `<root>/cifar-10-batches-py` (torchvision.datasets.CIFAR10), or the ImageFolder layout
  `<root>/cifar10-jpg/{train,test}/<class>/*.jpg`.
Each split is decoded once per process and kept in memory.

A fixed sample of both test sets (100 images per class) ships in models/samples/, so the pages
that show or probe images work on a fresh clone: `test_images(name)` gives the full test set
when it is there and that sample otherwise. Training needs the full sets (`load`).
"""

from __future__ import annotations

import functools
import os
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


# --- MNIST and CIFAR-10's own files: read by torchvision's dataset classes ---------------------

_MNIST_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@functools.lru_cache(maxsize=None)
def _load_mnist(root: str, train: bool, download: bool) -> ImageSet:
    import torchvision

    raw = Path(root) / "MNIST" / "raw"
    split = "training" if train else "test"
    if not all((raw / name).is_file() for name in _MNIST_FILES[train]) and not download:
        raise DataNotFoundError(
            f"MNIST {split} files not found in {raw} (looked for {' and '.join(_MNIST_FILES[train])}). "
            "Set CNN_LAB_DATA to the folder that contains MNIST/raw, or run "
            "`python -m models.data --download` once on a machine with internet."
        )
    if download:
        torchvision.datasets.MNIST(root, train=train, download=True)
    from torchvision.datasets.mnist import read_image_file, read_label_file

    image_file, label_file = (str(raw / name) for name in _MNIST_FILES[train])
    try:
        images, labels = read_image_file(image_file), read_label_file(label_file)
    except (AssertionError, ValueError, RuntimeError, KeyError, OSError) as error:
        raise DataError(f"the MNIST {split} files in {raw} are truncated or damaged ({error or 'wrong size'}); "
                        "download them again") from None
    if len(images) != len(labels):
        raise DataError(f"the MNIST {split} files in {raw} do not match ({len(images)} images, {len(labels)} "
                        "labels); download them again")
    return ImageSet("mnist", images.unsqueeze(1).contiguous(), labels.long(), MNIST_CLASSES,
                    f"the MNIST {split} set ({len(labels):,} images)")


def _find_idx(folder: Path, stem: str) -> Path | None:
    candidate = folder / stem
    return candidate if candidate.is_file() else None


@functools.lru_cache(maxsize=None)
def _load_cifar10(root: str, train: bool, download: bool) -> ImageSet:
    batches = Path(root) / "cifar-10-batches-py"
    folder = Path(root) / "cifar10-jpg" / ("train" if train else "test")
    split = "training" if train else "test"
    if batches.is_dir() or (download and not folder.is_dir()):
        import torchvision

        try:
            found = torchvision.datasets.CIFAR10(root, train=train, download=download)
        except RuntimeError as error:   # torchvision checks every file's checksum
            raise DataError(f"the CIFAR-10 files in {batches} are incomplete or damaged ({error}); "
                            "download them again") from None
        images = torch.from_numpy(found.data).permute(0, 3, 1, 2).contiguous()
        return ImageSet("cifar10", images, torch.tensor(found.targets, dtype=torch.int64), CIFAR10_CLASSES,
                        f"the CIFAR-10 {split} set ({len(found):,} images)")
    if folder.is_dir():
        found = read_image_folder(folder, "cifar10", CIFAR10_CLASSES)
        return replace(found, source=f"the CIFAR-10 {split} set ({len(found):,} images, JPEG copy)")
    raise DataNotFoundError(
        f"CIFAR-10 not found: looked for {batches} (torchvision's layout) and {folder} "
        "(ImageFolder layout: <class>/<image>.jpg). Set CNN_LAB_DATA to the folder that "
        "contains one of them, or run `python -m models.data --download` once on a machine "
        "with internet."
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
