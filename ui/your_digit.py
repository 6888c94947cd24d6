"""The per-session "your digit": the digit last drawn, picked or uploaded, shared between pages.
(No torch here: the sidebar's scene panel reads it before a page has imported torch.)"""

from __future__ import annotations

import numpy as np
import streamlit as st

YOUR_DIGIT = "your_digit"


def set_your_digit(image: np.ndarray | None, source: str) -> None:
    if image is None:
        st.session_state.pop(YOUR_DIGIT, None)
    else:
        st.session_state[YOUR_DIGIT] = {"image": image, "source": source}


def your_digit() -> dict | None:
    """{"image": 28x28 uint8, "source": text} of the digit last drawn/picked/uploaded, or None."""
    return st.session_state.get(YOUR_DIGIT)
