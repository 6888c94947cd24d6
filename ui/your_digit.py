"""The per-session "your digit", the one owner of it: the digit last drawn, picked or uploaded
(shared between pages), and when it was drawn, the canvas strokes and the canvas's version. The
draw page, links and lessons all go through here. (No torch here: the sidebar's scene panel reads
it before a page has imported torch.)"""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui.scenes import Digit

DRAWN = "your drawing"            # the source of a digit drawn on the canvas
_YOURS = "your_digit"
_STROKES = "_your_digit_strokes"  # the canvas drawing (fabric.js JSON) behind a drawn digit
_CANVAS_DIGIT = "_canvas_digit"   # the 28x28 the canvas's last strokes gave
_CANVAS_VERSION = "_canvas_version"


def set_your_digit(image: np.ndarray | None, source: str) -> None:
    if image is None:
        st.session_state.pop(_YOURS, None)
    else:
        st.session_state[_YOURS] = {"image": image, "source": source}


def your_digit() -> dict | None:
    """{"image": 28x28 uint8, "source": text} of the digit last drawn/picked/uploaded, or None."""
    return st.session_state.get(_YOURS)


# --- The canvas -------------------------------------------------------------------------------

def canvas_version() -> int:
    """Part of the canvas's key: a new version draws a fresh canvas (cleared, or restored)."""
    return st.session_state.setdefault(_CANVAS_VERSION, 0)


def strokes() -> dict | None:
    """The strokes to draw the canvas with (after a page switch, a link or a lesson)."""
    return st.session_state.get(_STROKES)


def canvas_digit() -> np.ndarray | None:
    """The digit the canvas showed last. A canvas redrawn from its strokes sends no image until
    the next stroke: until then this one stands."""
    return st.session_state.get(_CANVAS_DIGIT)


def drew(image: np.ndarray | None, drawing: dict | None) -> None:
    """The canvas sent new strokes and the digit they make."""
    st.session_state[_CANVAS_DIGIT] = image
    st.session_state[_STROKES] = drawing


def clear_canvas() -> None:
    st.session_state[_CANVAS_VERSION] = canvas_version() + 1
    for key in (_STROKES, _CANVAS_DIGIT):
        st.session_state.pop(key, None)


# --- Scenes -----------------------------------------------------------------------------------

def as_scene_digit() -> Digit | None:
    """Your digit as a scene carries it: with its strokes when it was drawn."""
    mine = your_digit()
    if mine is None:
        return None
    return Digit(mine["image"], mine["source"], strokes() if mine["source"] == DRAWN else None)


def restore(digit: Digit) -> None:
    """A digit from a link or a lesson becomes your digit; drawn ones reappear on the canvas."""
    set_your_digit(digit.image, digit.source)
    if digit.drawing is not None:
        drew(digit.image, digit.drawing)
        st.session_state[_CANVAS_VERSION] = canvas_version() + 1
