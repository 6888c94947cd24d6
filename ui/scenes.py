"""Scenes and lessons: what a page shows, as plain data.

A scene is one page plus the values of its controls (the session-state entries its widgets
are keyed by), the models chosen in the sidebar, "your digit", the controls hidden on a
projector and a short note. A lesson is an ordered list of scenes. Scenes round-trip through
JSON (lesson files) and through URL query parameters (links). Only the control keys listed in
PAGE_CONTROLS can be set this way, so a foreign file or link cannot reach the rest of a
session. No Streamlit here: ui/links.py applies scenes to a session.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ui.navigation import ALL_PAGES
from ui.text import label

LESSON_FORMAT = "cnn-lab-lesson/1"
MAX_LESSON_BYTES = 5_000_000
MAX_TEXT = 300            # longest title or note a scene keeps
MAX_VALUE = 4000          # longest control value (a net's layers as JSON fit)
MAX_DRAWING_BYTES = 500_000
MAX_PARAMS = 100          # query parameters a link may carry
# Control keys are identifiers: a key from a link or a lesson that is anything else (CSS, markup,
# spaces) is never a control, so it can reach neither session state nor the projector's style.
SAFE_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")

# The controls each page's scenes capture and restore (declared beside each page in ui.navigation);
# pages are named by their URL path ("" is the home page).
PAGE_CONTROLS: dict[str, tuple[str, ...]] = {page.url_path: page.controls for page in ALL_PAGES}
# Keys that match a page's patterns but are not settable controls: buttons, uploads, editors.
NOT_CONTROLS = ("*_upload", "*_random", "*_train", "*_stop", "*_typed", "*_save", "*_export", "*_job")
DATASETS = ("mnist", "cifar10")
# Pages whose address changed (lessons exported before still open them). Every page's address is
# its file's name, so that Streamlit's pages/-folder mode, which a fresh server uses for its very
# first request, finds the same file that st.navigation would (see ui/__init__.py).
RENAMED_PAGES = {"draw": "draw_digit", "feature-maps": "feature_maps", "grad-cam": "gradcam",
                 "batch-norm": "batch_norm", "plain-vs-residual": "plain_vs_residual",
                 "learning-rate": "learning_rate"}
# Query parameters that are not controls.
MODEL_PARAM = "model_{}"
DIGIT_PARAM = "digit"
PRESENT_PARAM = "present"
HIDE_PARAM = "hide"

Value = bool | int | float | str


class DrawingError(ValueError):
    """A canvas drawing that this app's canvas cannot have made; the message says why."""


def checked_drawing(drawing: object) -> dict | None:
    """A canvas drawing (fabric.js JSON) as the canvas of this app makes it: free-hand paths
    only, at most MAX_DRAWING_BYTES; None for no drawing. DrawingError for anything else (it
    would be stored, shared by link and sent to other browsers)."""
    if drawing is None:
        return None
    if not isinstance(drawing, dict) or len(json.dumps(drawing)) > MAX_DRAWING_BYTES:
        raise DrawingError("The drawing is larger than a drawing from this page can be.")
    objects = drawing.get("objects", [])
    strokes_only = all(isinstance(o, dict) and str(o.get("type", "")).lower() == "path" for o in objects) \
        if isinstance(objects, list) else False
    if not strokes_only:
        raise DrawingError("The drawing holds something other than strokes.")
    return drawing


class LessonError(ValueError):
    """A lesson file that cannot be read at all."""


@dataclass
class Digit:
    image: np.ndarray                # 28x28 uint8, what the net sees
    source: str                      # e.g. "your drawing"
    drawing: dict | None = None      # the canvas strokes (fabric.js JSON), when it was drawn

    def to_json(self) -> dict:
        return {"image": base64.b64encode(self.image.astype(np.uint8).tobytes()).decode(),
                "source": self.source, "drawing": self.drawing}

    @classmethod
    def from_json(cls, raw: object) -> Digit:
        if not isinstance(raw, dict) or not isinstance(raw.get("image"), str):
            raise ValueError("a digit needs an image")
        pixels = base64.b64decode(raw["image"], validate=True)
        if len(pixels) != 28 * 28:
            raise ValueError(f"a digit has 784 pixels, this one {len(pixels)}")
        try:
            drawing = checked_drawing(raw.get("drawing"))
        except ValueError:
            raise ValueError("the digit's drawing is not a canvas drawing") from None
        return cls(np.frombuffer(pixels, np.uint8).reshape(28, 28).copy(),
                   label(raw.get("source", "a shared digit")), drawing)

    def digest(self) -> str:
        """A short id that names this digit's content."""
        canonical = json.dumps(self.to_json(), sort_keys=True).encode()
        return hashlib.sha256(canonical).hexdigest()[:12]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Digit) and self.to_json() == other.to_json()


@dataclass
class Scene:
    page: str                                              # URL path of the page
    title: str = ""
    controls: dict[str, Value] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)   # dataset -> model label
    digit: Digit | None = None
    hidden: list[str] = field(default_factory=list)        # controls hidden when presenting
    note: str = ""                                         # one line for the projector

    def to_json(self) -> dict:
        return {"page": self.page, "title": self.title, "controls": dict(self.controls),
                "models": dict(self.models), "digit": self.digit.to_json() if self.digit else None,
                "hidden": list(self.hidden), "note": self.note}


@dataclass
class Lesson:
    title: str
    scenes: list[Scene] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"format": LESSON_FORMAT, "title": self.title,
                           "scenes": [scene.to_json() for scene in self.scenes]}, indent=1)


def is_control(page: str, key: str) -> bool:
    patterns = PAGE_CONTROLS.get(page, ())
    return (isinstance(key, str) and bool(SAFE_KEY.fullmatch(key))
            and any(fnmatch.fnmatchcase(key, p) for p in patterns)
            and not any(fnmatch.fnmatchcase(key, p) for p in NOT_CONTROLS))


def _is_value(value: object) -> bool:
    if isinstance(value, float):
        return bool(np.isfinite(value))
    if isinstance(value, str):
        return len(value) <= MAX_VALUE
    return isinstance(value, (bool, int))


def _text(value: object) -> str:
    return str(value)[:MAX_TEXT]


def capture_controls(page: str, state: Mapping) -> dict[str, Value]:
    """The page's control values in `state` (a session state), sorted by key."""
    return {key: state[key] for key in sorted(k for k in state.keys() if isinstance(k, str))
            if is_control(page, key) and _is_value(state[key])}


# --- Lessons as JSON -------------------------------------------------------------------------


def scene_from_json(raw: object, known_pages: set[str] | None = None) -> tuple[Scene | None, list[str]]:
    """A scene and the problems met reading it; the scene is None when its page is unknown.
    Controls that the page does not have, or whose values are not plain, are left out."""
    known_pages = set(PAGE_CONTROLS) if known_pages is None else known_pages
    if not isinstance(raw, dict):
        return None, ["a scene that is not an object was skipped"]
    title = _text(raw.get("title") or raw.get("page") or "untitled")
    page = raw.get("page")
    page = RENAMED_PAGES.get(page, page) if isinstance(page, str) else page
    if not isinstance(page, str) or page not in known_pages:
        return None, [f"scene “{title}”: there is no page {page!r} in this app; skipped"]
    problems = []
    controls = {}
    raw_controls = raw.get("controls") or {}
    if not isinstance(raw_controls, dict):
        raw_controls = {}
        problems.append(f"scene “{title}”: its controls are not a table; left out")
    for key, value in raw_controls.items():
        if not is_control(page, key):
            problems.append(f"scene “{title}”: the page has no control {key!r}; left out")
        elif not _is_value(value):
            problems.append(f"scene “{title}”: {key} = {value!r} is not a plain value; left out")
        else:
            controls[key] = value
    models = {}
    for dataset, model_label in (raw.get("models") or {}).items() if isinstance(raw.get("models"), dict) else ():
        if dataset in DATASETS and isinstance(model_label, str):
            models[dataset] = _text(model_label)
        else:
            problems.append(f"scene “{title}”: model {dataset!r} = {model_label!r} left out")
    digit = None
    if raw.get("digit") is not None:
        try:
            digit = Digit.from_json(raw["digit"])
        except (ValueError, TypeError) as error:
            problems.append(f"scene “{title}”: its digit cannot be read ({error}); left out")
    raw_hidden = raw.get("hidden") if isinstance(raw.get("hidden"), list) else []
    hidden = [key for key in raw_hidden if isinstance(key, str) and is_control(page, key)]
    scene = Scene(page, title, controls, models, digit, hidden, _text(raw.get("note") or ""))
    return scene, problems


def lesson_from_json(text: str | bytes, known_pages: set[str] | None = None) -> tuple[Lesson, list[str]]:
    """Read a lesson file: (the lesson with every scene that could be read, what could not).
    Raises LessonError when the file is not a CNN Lab lesson at all."""
    if len(text) > MAX_LESSON_BYTES:
        raise LessonError(f"this file is {len(text):,} bytes; a lesson is at most {MAX_LESSON_BYTES:,}")
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise LessonError(f"this file is not JSON ({error})") from None
    except RecursionError:
        raise LessonError("this file nests its JSON deeper than a lesson ever does") from None
    if not isinstance(raw, dict) or raw.get("format") != LESSON_FORMAT:
        raise LessonError(f"this JSON is not a CNN Lab lesson (it needs \"format\": \"{LESSON_FORMAT}\")")
    if not isinstance(raw.get("scenes"), list):
        raise LessonError("this lesson has no list of scenes")
    lesson, problems = Lesson(_text(raw.get("title") or "Untitled lesson")), []
    for item in raw["scenes"]:
        scene, scene_problems = scene_from_json(item, known_pages)
        problems.extend(scene_problems)
        if scene is not None:
            lesson.scenes.append(scene)
    return lesson, problems


# --- Scenes as URL query parameters ----------------------------------------------------------


def encode_value(value: Value) -> str:
    """Plain words (and JSON objects, such as a net's layers) stay readable in the address bar;
    a string that would read back as a number, true/false or a quoted string is quoted."""
    if isinstance(value, str):
        try:
            if not _is_value(json.loads(value)):
                return value
        except ValueError:
            return value
    return json.dumps(value)


def decode_value(text: str) -> Value:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text
    return value if _is_value(value) else text


def numbers_to_text(values: np.ndarray) -> str:
    """A table of numbers as a control value: "1,0,-1;2,0,-2" (rows split by ';')."""
    rows = np.atleast_2d(np.asarray(values, dtype=float))
    return ";".join(",".join(f"{v:.6g}" for v in row) for row in rows)


def numbers_from_text(text: object, shape: tuple[int, ...]) -> np.ndarray | None:
    """The table `numbers_to_text` wrote, if `text` holds finite numbers of that shape; else None."""
    if not isinstance(text, str) or len(text) > MAX_VALUE:
        return None
    try:
        values = np.array([[float(v) for v in row.split(",")] for row in text.split(";")])
    except ValueError:
        return None
    if values.size != int(np.prod(shape)) or not np.isfinite(values).all():
        return None
    return values.reshape(shape)


def to_query(scene: Scene, digit_id: str | None = None, presenting: bool = False) -> dict[str, str]:
    params = {key: encode_value(value) for key, value in scene.controls.items()}
    params.update({MODEL_PARAM.format(dataset): label for dataset, label in sorted(scene.models.items())})
    if digit_id:
        params[DIGIT_PARAM] = digit_id
    if presenting:
        params[PRESENT_PARAM] = "1"
    if scene.hidden:
        params[HIDE_PARAM] = ",".join(scene.hidden)
    return params


@dataclass
class QueryScene:
    scene: Scene
    digit_id: str | None
    presenting: bool
    problems: list[str]


def from_query(page: str, params: Mapping[str, str]) -> QueryScene:
    """The scene a link describes (for the page it opens). Parameters that are not this page's
    controls are listed as problems and otherwise ignored."""
    scene, problems, digit_id = Scene(page), [], None
    model_params = {MODEL_PARAM.format(d): d for d in DATASETS}
    if len(params) > MAX_PARAMS:
        return QueryScene(scene, None, False, [f"this link has {len(params)} parts; a link of this app has at most "
                                               f"{MAX_PARAMS}, so none was opened"])
    for key, text in params.items():
        if len(text) > MAX_VALUE:
            problems.append(f"a part of this link is {len(text):,} characters long (at most {MAX_VALUE:,}); left out")
        elif key in model_params:
            scene.models[model_params[key]] = _text(text)
        elif key == DIGIT_PARAM:
            if DigitStore.valid_id(text):
                digit_id = text
            else:
                problems.append(f"the link's digit id {text!r} is not valid")
        elif key in (PRESENT_PARAM, HIDE_PARAM):
            continue
        elif is_control(page, key):
            scene.controls[key] = decode_value(text)
        else:
            problems.append(f"this page has no control “{_text(key)[:40]}”")
    scene.hidden = [k for k in params.get(HIDE_PARAM, "").split(",") if is_control(page, k)]
    return QueryScene(scene, digit_id, params.get(PRESENT_PARAM) == "1", problems)


# --- Digits shared by link, stored on the server ---------------------------------------------


class DigitStore:
    """Digits behind links, one small JSON file each, named by the digit's digest."""

    ID = re.compile(r"[0-9a-f]{12}")

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    @classmethod
    def valid_id(cls, digit_id: str) -> bool:
        return bool(cls.ID.fullmatch(digit_id))

    MAX_FILES = 5_000                 # digits kept; the oldest go first
    MAX_AGE = 60 * 24 * 3600.0        # seconds a digit is kept after it was last shared
    STALE_TMP = 3600.0                # a half-written file older than this was left by a crash
    _pruned_at = 0.0

    def save(self, digit: Digit) -> str:
        """Store `digit` (its drawing only if it is a canvas drawing within MAX_DRAWING_BYTES)."""
        try:
            checked_drawing(digit.drawing)
        except DrawingError:
            digit = Digit(digit.image, digit.source, None)   # the picture travels, the strokes do not
        digit_id = digit.digest()
        path = self.folder / f"{digit_id}.json"
        if path.exists():
            os.utime(path)   # shared again: kept longer
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            temporary.write_text(json.dumps(digit.to_json()))
            os.replace(temporary, path)
        self.prune()
        return digit_id

    def prune(self, now: float | None = None, force: bool = False) -> None:
        """Drop digits beyond MAX_FILES or MAX_AGE, and half-written files; at most once a minute."""
        now = time.time() if now is None else now
        if not force and now - DigitStore._pruned_at < 60:
            return
        DigitStore._pruned_at = now
        try:
            entries = [(p, p.stat().st_mtime) for p in self.folder.iterdir()]
        except OSError:
            return
        digits = sorted(((p, t) for p, t in entries if p.suffix == ".json"), key=lambda e: e[1], reverse=True)
        doomed = [p for p, t in entries if p.suffix == ".tmp" and now - t > self.STALE_TMP]
        doomed += [p for i, (p, t) in enumerate(digits) if i >= self.MAX_FILES or now - t > self.MAX_AGE]
        for path in doomed:
            path.unlink(missing_ok=True)

    def load(self, digit_id: str) -> Digit | None:
        """The digit, or None when the id is unknown here or its file is damaged."""
        if not self.valid_id(digit_id):
            return None
        try:
            return Digit.from_json(json.loads((self.folder / f"{digit_id}.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None
