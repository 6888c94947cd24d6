"""Controls whose range follows the net or the settings, where a plain widget would fail."""

from __future__ import annotations

import streamlit as st


def range_slider(label: str, low: int, high: int, value: int, key: str, where=st) -> int:
    """An integer slider over low..high; where the range holds one value (a 1-pixel map, a
    single window position), which a slider cannot show, that value stated as text."""
    if high <= low:
        where.caption(f"{label}: {low} (the only one there is)")
        return low
    return where.slider(label, low, high, value, key=key)
