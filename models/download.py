"""Fetching MNIST and CIFAR-10 into the data root, from the addresses and checksums torchvision
knows, with progress and a stop signal (so the app's worker can run it). Offline it fails
within seconds with a message that says what to do instead."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import socket
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from models.data import DataError, TITLES, missing_data_message
from models.train import StopSignal

CHUNK = 1 << 16
SIZES_MB = {"mnist": 12, "cifar10": 163}


class DownloadError(DataError):
    """The data could not be fetched; the message says why and what to do."""


def download_size(name: str) -> str:
    return f"about {SIZES_MB[name]} MB"


def sources(name: str) -> list[tuple[list[str], str, str]]:
    """[(addresses to try, file name, md5)] for `name`, as torchvision lists them."""
    import torchvision

    if name == "mnist":
        mirrors = torchvision.datasets.MNIST.mirrors
        return [([mirror + file for mirror in mirrors], file, md5) for file, md5 in torchvision.datasets.MNIST.resources]
    if name == "cifar10":
        dataset = torchvision.datasets.CIFAR10
        return [([dataset.url], dataset.filename, dataset.tgz_md5)]
    raise ValueError(f"unknown dataset {name!r}")


def reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether the host of `url` answers on its port at all (a quick look before a download)."""
    address = urlparse(url)
    port = address.port or (443 if address.scheme == "https" else 80)
    try:
        with socket.create_connection((address.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def download(name: str, root: str | Path, report: Callable[..., None] | None = None,
             stop: StopSignal | None = None, files: list[tuple[list[str], str, str]] | None = None) -> Path:
    """Fetch `name` into `root` (torchvision's layout) and return the folder it is in."""
    root = Path(root)
    files = files if files is not None else sources(name)
    report = report or (lambda **progress: None)
    folder = root / "MNIST" / "raw" if name == "mnist" else root
    folder.mkdir(parents=True, exist_ok=True)
    report(phase=f"looking for a way to {TITLES[name]}'s files")
    for index, (addresses, file, md5) in enumerate(files):
        target = folder / file
        if not (target.exists() and _md5(target) == md5):
            _fetch_one(addresses, target, md5, lambda done: report(file=file, fraction=(index + done) / len(files)),
                       stop, name)
        if stop is not None and stop.is_set():
            raise DownloadError("the download was stopped")
        _unpack(target, folder)
    report(fraction=1.0)
    return folder


def _fetch_one(addresses: list[str], target: Path, md5: str, on_fraction: Callable[[float], None],
               stop: StopSignal | None, name: str) -> None:
    problems = []
    for address in addresses:
        if not reachable(address):
            problems.append(f"{urlparse(address).hostname} cannot be reached")
            continue
        partial = target.with_name(target.name + ".part")
        try:
            with urllib.request.urlopen(address, timeout=20) as response, open(partial, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0)
                done = 0
                while chunk := response.read(CHUNK):
                    if stop is not None and stop.is_set():
                        break
                    out.write(chunk)
                    done += len(chunk)
                    if total:
                        on_fraction(min(done / total, 1.0))
        except (urllib.error.URLError, OSError) as error:
            partial.unlink(missing_ok=True)
            problems.append(f"{address}: {error}")
            continue
        if stop is not None and stop.is_set():
            partial.unlink(missing_ok=True)
            return
        if _md5(partial) != md5:
            partial.unlink(missing_ok=True)
            problems.append(f"{address} sent a file that is not the expected one (checksum differs)")
            continue
        partial.replace(target)
        return
    raise DownloadError(f"Could not download {target.name}: {'; '.join(problems)}. {missing_data_message(name)}")


def _unpack(archive: Path, folder: Path) -> None:
    if archive.name.endswith(".tar.gz"):
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
    elif archive.suffix == ".gz":
        with gzip.open(archive) as packed, open(archive.with_suffix(""), "wb") as out:
            shutil.copyfileobj(packed, out)


def _md5(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()
