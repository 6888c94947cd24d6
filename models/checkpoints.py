"""Checkpoints: one `torch.save`d dict with the weights before and after training, the
architecture (builder name + keyword arguments) and metadata.

    model, metadata = checkpoints.load("checkpoints/gap_mnist.pt")   # eval mode, on the CPU

Files are read with `weights_only=True` (no code runs) and checked against a freshly built
net; anything that does not fit raises CheckpointError with the reason. Writes go to a
temporary file that is then renamed, so a crash never leaves half a checkpoint."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import tempfile
from pathlib import Path

import torch
from torch import nn

from models import build

FORMAT = "cnn-lab-checkpoint/1"
# The metadata copied into `<name>.json` beside each checkpoint, so the app can list its models
# without loading torch (which costs a second at start-up).
CARD_KEYS = ("name", "dataset", "test_accuracy", "parameters", "epochs", "train_seconds", "device")


class CheckpointError(ValueError):
    """The file is not a usable CNN Lab checkpoint; the message says why."""


def save(
    path: str | Path,
    model: nn.Module,
    *,
    arch: str,
    arch_kwargs: dict,
    init_state_dict: dict | None,
    metadata: dict,
    overwrite: bool = True,
) -> Path:
    """Write the checkpoint and its card; returns the path written. With overwrite=False an
    existing file is never replaced: the name gets a suffix (-2, -3, ...) instead."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "arch": arch,
        "arch_kwargs": _plain(arch_kwargs),
        "state_dict": _cpu(model.state_dict()),
        "init_state_dict": _cpu(init_state_dict) if init_state_dict is not None else None,
        "metadata": _plain(metadata),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    content = buffer.getvalue()
    path = write_atomically(path, lambda f: f.write(content), overwrite=overwrite)
    write_card(path, payload["metadata"], hashlib.sha256(content).hexdigest())
    return path


def card_path(path: str | Path) -> Path:
    return Path(path).with_suffix(".json")


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file: ties a card to the exact checkpoint it describes."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def write_card(path: str | Path, metadata: dict, digest: str | None = None) -> None:
    """The card beside `path`; `digest` is that of the bytes just written there (another writer
    may have replaced the file since), else the file is read."""
    card = {key: metadata.get(key) for key in CARD_KEYS} | {"sha256": digest or file_digest(path)}
    write_atomically(card_path(path), lambda f: f.write(json.dumps(card, indent=1).encode()))


def write_atomically(path: Path, write, overwrite: bool = True) -> Path:
    """Write to a temporary file beside `path`, then rename: readers never see half a file.
    With overwrite=False an existing file is kept and `name-2.ext`, `name-3.ext`... is used."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)   # mkstemp makes it private; these files are for everyone
        if overwrite:
            os.replace(tmp, path)
            return path
        for number in range(1, 10_000):
            candidate = path if number == 1 else path.with_name(f"{path.stem}-{number}{path.suffix}")
            try:
                os.link(tmp, candidate)   # fails if the name is taken, even by a writer this instant
            except FileExistsError:
                continue
            return candidate
        raise FileExistsError(f"no free name left for {path}")
    finally:
        Path(tmp).unlink(missing_ok=True)


def read(path: str | Path) -> dict:
    """The checkpoint's raw dict, after checking that it is one of ours."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path} does not exist") from None
    except pickle.UnpicklingError as error:
        if "weights_only" in str(error) or "Unsupported global" in str(error):
            raise CheckpointError(
                f"{path.name} was refused: it contains Python objects other than tensors and "
                "plain data (a pickle that could run code), so it is not loaded"
            ) from None
        raise CheckpointError(f"{path.name} is not a readable checkpoint (corrupt file): {error}") from None
    except Exception as error:   # torch.load fails in many ways on damaged files
        raise CheckpointError(f"{path.name} is not a readable checkpoint (truncated or corrupt): {error}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path.name} is not a CNN Lab checkpoint (no '{FORMAT}' marker)")
    expected_types = {"arch": str, "arch_kwargs": dict, "state_dict": dict, "metadata": dict}
    for key, kind in expected_types.items():
        if not isinstance(payload.get(key), kind):
            raise CheckpointError(f"{path.name} lacks '{key}' (a {kind.__name__})")
    if payload.get("init_state_dict") is not None and not isinstance(payload["init_state_dict"], dict):
        raise CheckpointError(f"{path.name} has a damaged 'init_state_dict'")
    return payload


def load(path: str | Path, weights: str = "trained", device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """(model in eval mode, metadata). `weights="init"` gives the net before training."""
    payload = read(path)
    name = Path(path).name
    try:
        model = build(payload["arch"], **payload["arch_kwargs"])
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{name} names an architecture this app cannot build: {error}") from None
    key = {"trained": "state_dict", "init": "init_state_dict"}[weights]
    state = payload.get(key)
    if state is None:
        raise CheckpointError(f"{name} has no {weights} weights")
    check_fits(model, state, name)
    model.load_state_dict(state)
    return model.to(device).eval(), payload["metadata"]


def check_fits(model: nn.Module, state: dict, name: str = "checkpoint") -> None:
    """Raise CheckpointError naming the first mismatch between `state` and `model`."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
        if unexpected:
            parts.append(f"unexpected {', '.join(unexpected[:3])}{' ...' if len(unexpected) > 3 else ''}")
        raise CheckpointError(f"{name} does not fit the net: {'; '.join(parts)}")
    for key, want in expected.items():
        got = state[key]
        if not isinstance(got, torch.Tensor):
            raise CheckpointError(f"{name} does not fit the net: {key} is not a tensor")
        if got.shape != want.shape:
            raise CheckpointError(
                f"{name} does not fit the net: {key} has shape {tuple(got.shape)} in the file "
                f"but {tuple(want.shape)} in the net"
            )
        if got.dtype != want.dtype:
            raise CheckpointError(f"{name} does not fit the net: {key} has dtype {got.dtype}, expected {want.dtype}")
        if got.dtype.is_floating_point and not torch.isfinite(got).all():
            raise CheckpointError(f"{name} is damaged: {key} contains NaN or infinite values")


def _cpu(state: dict) -> dict:
    return {k: v.detach().cpu().clone() for k, v in state.items()}


def _plain(value):
    """Builtin types only (tuples -> lists, str subclasses such as torch.__version__ -> str),
    recursively: weights_only loading refuses anything else."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    if value is None:
        return None
    raise TypeError(f"cannot store {type(value).__name__} in checkpoint metadata")
