"""The catalogue of models the sidebar offers: which trained nets exist (shipped, the Figure-6
runs, and nets saved from the lab), each loaded once per server, with whatever pages derive
from them (cached by file path and modification time), and the sidebar that picks one.

Listing models reads the small `.json` card beside each checkpoint, so the first page a
student opens does not wait for torch to import; torch comes in when a model is loaded."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from ui.text import plain

if TYPE_CHECKING:
    from torch import nn

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DIR = ROOT / "checkpoints"
DATASET_TITLES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}


@dataclass(frozen=True)
class Entry:
    path: str
    label: str
    dataset: str
    test_accuracy: float | None
    parameters: int
    trained_on: str
    epochs: int | None = None


def runs_dir() -> Path:
    """Where nets trained in the app are saved (CNN_LAB_RUNS, default ./runs)."""
    return Path(os.environ.get("CNN_LAB_RUNS", ROOT / "runs"))


FIGURE6_DIR = SHIPPED_DIR / "plain_vs_residual"
# A folder's nets are told apart from same-named nets elsewhere by this suffix.
LABEL_SUFFIX = {FIGURE6_DIR: " · Figure-6 run"}


def checkpoint_dirs() -> list[Path]:
    return [SHIPPED_DIR, FIGURE6_DIR, runs_dir()]


def _fingerprint() -> tuple:
    files = []
    for folder in checkpoint_dirs():
        if folder.is_dir():
            # A run's resumable state (models.train writes OUT.state.pt beside OUT) is not a net to offer.
            files.extend((str(p), p.stat().st_mtime_ns) for p in sorted(folder.glob("*.pt"))
                         if not p.name.endswith(".state.pt"))
    return tuple(files)


def _card(path: str) -> dict | None:
    """The checkpoint's card (written beside it by models.checkpoints.save) if it describes
    exactly this file, else None."""
    try:
        card = json.loads(Path(path).with_suffix(".json").read_text())
        with open(path, "rb") as f:
            if isinstance(card, dict) and card.get("sha256") == hashlib.file_digest(f, "sha256").hexdigest():
                return card
    except (OSError, ValueError):
        pass
    return None


@st.cache_resource(show_spinner=False)
def _catalogue(fingerprint: tuple) -> tuple[list[Entry], list[str]]:
    entries, problems = [], []
    for path, _ in fingerprint:
        meta = _card(path)
        if meta is None:   # no card, or a stale one: read the checkpoint itself (imports torch)
            from models import checkpoints

            try:
                meta = checkpoints.read(path)["metadata"]
            except checkpoints.CheckpointError as error:
                problems.append(str(error))
                continue
        accuracy = meta.get("test_accuracy")
        seconds = meta.get("train_seconds")
        entries.append(Entry(
            path=path,
            label=str(meta.get("name", Path(path).stem)) + LABEL_SUFFIX.get(Path(path).parent, ""),
            dataset=str(meta.get("dataset", "?")),
            test_accuracy=float(accuracy) if isinstance(accuracy, (int, float)) else None,
            parameters=int(meta["parameters"]) if isinstance(meta.get("parameters"), int) else 0,
            trained_on=f"{meta.get('epochs', '?')} epochs"
            + (f", {seconds:.0f} s" if isinstance(seconds, (int, float)) else "")
            + f" on {meta.get('device', '?')}",
            epochs=int(meta["epochs"]) if isinstance(meta.get("epochs"), int) else None,
        ))
    return entries, problems


def catalogue() -> tuple[list[Entry], list[str]]:
    """(usable checkpoints, messages about unreadable files)."""
    return _catalogue(_fingerprint())


@st.cache_resource(show_spinner="Loading the model…", max_entries=16)
def _load(path: str, mtime_ns: int) -> tuple[nn.Module, dict]:
    from models import checkpoints

    model, metadata = checkpoints.load(path)
    for p in model.parameters():
        p.requires_grad_(False)   # shared by every session: inference only
    return model, metadata


def _mtime(path: str) -> int:
    return Path(path).stat().st_mtime_ns


@st.cache_resource(show_spinner=False, max_entries=64)
def _derived(path: str, mtime_ns: int, what: str, args: tuple, _compute):
    model, metadata = _load(path, mtime_ns)
    return _compute(model, metadata, *args)


def derived(dataset: str, what: str, compute, *args):
    """`compute(model, metadata, *args)` for the sidebar's `dataset` net, once per server for
    its checkpoint file (path and modification time) and `what`/`args`: for what pages derive
    from a net and share between sessions (treat it as read-only)."""
    entry = current_entry(dataset)
    return _derived(entry.path, _mtime(entry.path), what, tuple(args), compute)


@st.cache_resource(show_spinner="Loading the ImageNet weights…", max_entries=2)
def _imagenet_resnet18(path: str, mtime_ns: int):
    from models import imagenet

    return imagenet.load_resnet18()


def imagenet_resnet18() -> tuple[nn.Module, dict]:
    """torchvision's ImageNet ResNet-18 from the local torch hub cache, loaded once per file."""
    from models import imagenet

    path = str(imagenet.weights_path())
    return _imagenet_resnet18(path, _mtime(path))


@st.cache_resource(show_spinner=False, max_entries=4)
def _imagenet_derived(path: str, mtime_ns: int, what: str, _compute):
    return _compute(*_imagenet_resnet18(path, mtime_ns))


def imagenet_derived(what: str, compute):
    """Like `derived`, for the ImageNet ResNet-18."""
    from models import imagenet

    path = str(imagenet.weights_path())
    return _imagenet_derived(path, _mtime(path), what, compute)


def load(entry: Entry) -> tuple[nn.Module, dict]:
    return _load(entry.path, Path(entry.path).stat().st_mtime_ns)


@st.cache_resource(show_spinner=False, max_entries=16)
def _load_initial(path: str, mtime_ns: int) -> nn.Module:
    from models import checkpoints

    model, _ = checkpoints.load(path, weights="init")
    return model


def load_initial(entry: Entry) -> nn.Module:
    """The entry's net with its weights from before training (for before/after views)."""
    return _load_initial(entry.path, Path(entry.path).stat().st_mtime_ns)


def find(label: str) -> Entry | None:
    return next((e for e in catalogue()[0] if e.label == label), None)


def shipped(file_name: str) -> Entry | None:
    """The checkpoint shipped as checkpoints/<file_name>, whatever recipe made it."""
    return next((e for e in catalogue()[0] if e.path == str(SHIPPED_DIR / file_name)), None)


def describe(entry: Entry) -> str:
    accuracy = f"{entry.test_accuracy:.2%}" if entry.test_accuracy is not None else "accuracy unknown"
    return f"{entry.label} · {accuracy}"


def training_device() -> str:
    import torch

    if torch.cuda.is_available():
        return f"GPU: {torch.cuda.get_device_name(0)}"
    from models.jobs import training_threads

    return f"CPU ({_threads(training_threads())})"


def _threads(count: int) -> str:
    return f"{count} thread{'s' if count > 1 else ''}"


def page_threads() -> int:
    """The torch threads of one page computation: app.py's OMP_NUM_THREADS (a page run's thread
    reads it when it starts; the training worker's own count is set apart, models.jobs)."""
    import torch

    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        return torch.get_num_threads()


def _how_to_train(dataset: str) -> str:
    recipe, file = ("gap-mnist", "gap_mnist") if dataset == "mnist" else ("resnet20", "resnet20_cifar10")
    return f"`python -m models.train {recipe} --out checkpoints/{file}.pt`"


def sidebar() -> None:
    """The sidebar's model choices (their state lives in session_state)."""
    entries, problems = catalogue()
    with st.sidebar:
        for dataset, title in DATASET_TITLES.items():
            options = [e for e in entries if e.dataset == dataset]
            wanted = st.session_state.pop(f"_choose_model_{dataset}", None)
            if wanted is not None and (chosen := next((e for e in options if e.path == wanted), None)):
                st.session_state[f"model_{dataset}"] = chosen
            if not options:
                st.info(f"No {title} model yet. Train one: {_how_to_train(dataset)}")
                continue
            chosen = st.selectbox(
                f"{title} model", options, key=f"model_{dataset}", format_func=describe,
                help=f"The net that every {title} page uses, with its test accuracy.",
            )
            st.caption(f"{chosen.parameters:,} parameters · trained {plain(chosen.trained_on)}")
        for problem in problems:
            st.warning(f"Skipped a checkpoint: {plain(problem, 300)}")


def sidebar_device_line() -> None:
    """Where training runs. Called after the page has rendered: finding out imports torch."""
    st.sidebar.caption(f"Training runs on **{training_device()}**; the pages' small nets answer on the CPU "
                       f"({_threads(page_threads())} per computation).")


def leaderboard():
    """The class leaderboard of nets saved from the lab (an SQLite file in runs_dir())."""
    from models.leaderboard import Leaderboard

    return Leaderboard(runs_dir() / "leaderboard.sqlite")


def save_lab_net(run: dict, name: str) -> str:
    """Save a finished lab run to the model list (never over another net's file) and the
    leaderboard; selects it in this session's sidebar. Returns the name it was saved under."""
    import re

    from models import checkpoints

    metadata = {**run["metadata"], "name": name}
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "net"
    path = checkpoints.save(runs_dir() / f"{slug}.pt", run["net"], arch="spec",
                            arch_kwargs={"layers": run["spec"], "input_shape": run["input_shape"]},
                            init_state_dict=run["initial"], metadata=metadata, overwrite=False)
    result = run["result"]
    leaderboard().add(name, run["dataset"], metadata["parameters"], result.test_accuracy, len(result.history),
                      result.seconds, any(layer["type"] == "fc" for layer in run["spec"]), str(path))
    st.session_state[f"_choose_model_{run['dataset']}"] = str(path)   # the sidebar selects it on the next run
    return name


def current_entry(dataset: str) -> Entry | None:
    """The model chosen in the sidebar for `dataset`, or the first one there is."""
    entries, _ = catalogue()
    chosen = st.session_state.get(f"model_{dataset}")
    if chosen is None or chosen not in entries:
        options = [e for e in entries if e.dataset == dataset]
        return options[0] if options else None
    return chosen


def forget_when_the_model_changes(dataset: str, *keys: str) -> None:
    """Controls whose choices belong to one net (its layers): dropped when the sidebar's model
    for `dataset` changed since this session last drew them, so they follow the new net."""
    entry = current_entry(dataset)
    marker = f"_controls_model_{dataset}_{'_'.join(keys)}"
    path = entry.path if entry is not None else None
    just_linked = st.session_state.get("_set_by_link", ())   # a link that sets model and layer at once wins
    if st.session_state.get(marker, path) != path:
        for key in keys:
            if key not in just_linked:
                st.session_state.pop(key, None)
    st.session_state[marker] = path


def current(dataset: str) -> tuple[nn.Module, dict] | None:
    """The model chosen in the sidebar for `dataset` (or the first one), loaded once per server."""
    entry = current_entry(dataset)
    return load(entry) if entry is not None else None


def require(dataset: str) -> tuple[nn.Module, dict]:
    """Like `current`, but stops the page with a message when there is no usable model."""
    from models.checkpoints import CheckpointError

    try:
        loaded = current(dataset)
    except CheckpointError as error:
        st.error(f"The chosen {DATASET_TITLES[dataset]} model cannot be used: {error}. "
                 "Choose another one in the sidebar.")
        st.stop()
    if loaded is None:
        st.error(f"There is no {DATASET_TITLES[dataset]} model to show. Train one with "
                 f"{_how_to_train(dataset)} and reload this page.")
        st.stop()
    return loaded
