"""The projector: presenter mode (the sidebar and chosen controls hidden, larger type and
charts, each page's short teaching line) and the controls a teacher hides in it."""

from __future__ import annotations

import streamlit as st

from ui.scenes import SAFE_KEY, capture_controls

PRESENTING = "presenting"
_HIDDEN = "presenter_hidden"     # page -> control keys hidden when presenting


def presenting() -> bool:
    return bool(st.session_state.get(PRESENTING))


def teaching(text: str, short: str = "") -> None:
    """A page's teaching text; on the projector only its short form (or nothing)."""
    if not presenting():
        st.markdown(text)
    elif short:
        st.markdown(f"<p style='font-size:1.35rem'>{short}</p>", unsafe_allow_html=True)


def hidden_controls(page: str) -> list[str]:
    return st.session_state.setdefault(_HIDDEN, {}).get(page, [])


def set_hidden(page: str, keys: list[str]) -> None:
    """From a link or a lesson, before the panel's picker is drawn (it shows them)."""
    remember_hidden(page, keys)
    st.session_state[f"scene_hide_{page}"] = list(keys)


def remember_hidden(page: str, keys: list[str]) -> None:
    st.session_state.setdefault(_HIDDEN, {})[page] = list(keys)


def projector_style() -> None:
    """The projector's layout for the whole page (call in presenter mode only)."""
    st.html(
        "<style>"
        "[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'], "
        "[data-testid='stExpandSidebarButton'], [data-testid='stHeader'] {display: none}"
        # Larger type through the root size (text and widgets are sized in rem); charts keep
        # their pixel heights but get the sidebar's width. CSS zoom would enlarge them too, but
        # plotly then measures its container wrongly and overflows it.
        "html {font-size: 20px} [data-testid='stMainBlockContainer'] {max-width: 100%; padding-top: 1rem}"
        # Plotly sizes its text in pixels, inline: larger for the back of the room too.
        ".stPlotlyChart .gtitle {font-size: 22px !important} "
        ".stPlotlyChart .legendtext, .stPlotlyChart .xtitle, .stPlotlyChart .ytitle, "
        ".stPlotlyChart .annotation-text, .stPlotlyChart .cbtitle text {font-size: 17px !important} "
        ".stPlotlyChart .xtick text, .stPlotlyChart .ytick text, .stPlotlyChart .cbaxis text "
        "{font-size: 15px !important}"
        "</style>"
    )


def hide_chosen_controls(page: str) -> None:
    """In presenter mode, after the page has run: hide the controls the teacher chose. Only the
    keys of controls this page really created become CSS (identifiers, by SAFE_KEY), whatever a
    link or a lesson file names."""
    if not presenting():
        return
    real = set(capture_controls(page, st.session_state))
    hidden = [f".st-key-{key}" for key in hidden_controls(page) if key in real and SAFE_KEY.fullmatch(key)]
    if hidden:
        st.html(f"<style>{', '.join(hidden)} {{display: none}}</style>")
