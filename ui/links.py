"""Links that reproduce a view: every page's state is written into the address bar after it
runs (once per run), and a link that differs from what this session last wrote is applied
before any widget is made. Every way of restoring a scene goes through here: walking a lesson
switches to the scene's page with the scene's query parameters, which `open_link` applies.
Data editors keep edits, not values, so tables of numbers travel as text (`carried_table`)."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import streamlit as st

from ui import catalogue, join, projector, your_digit
from ui.navigation import BY_PATH
from ui.scenes import DigitStore, Scene, capture_controls, from_query, numbers_from_text, numbers_to_text, to_query
from ui.text import plain

ROOT = Path(__file__).resolve().parents[1]
_WRITTEN = "link_written"        # the query parameters this session last applied or wrote
_PROBLEMS = "link_problems"
_SET_BY_LINK = "_set_by_link"    # controls a link set that no page run has got through yet


def digit_store() -> DigitStore:
    return DigitStore(catalogue.runs_dir() / "shared_digits")


def current_scene(page: str, title: str = "", note: str = "") -> Scene:
    """What `page` shows in this session now."""
    models = {}
    for dataset in catalogue.DATASET_TITLES:
        entry = catalogue.current_entry(dataset)
        if entry is not None:
            models[dataset] = entry.label
    return Scene(page, title, capture_controls(page, st.session_state), models, your_digit.as_scene_digit(),
                 list(projector.hidden_controls(page)), note)


def open_link(page: str) -> None:
    """Apply the URL's scene to this session, unless the URL is the one this session wrote.
    Call before the sidebar and the page create their widgets."""
    params = st.query_params.to_dict()
    if params == st.session_state.get(_WRITTEN):
        return
    st.session_state[_WRITTEN] = params
    link = from_query(page, params)
    problems = list(link.problems)
    for key, value in link.scene.controls.items():
        st.session_state[key] = value
    st.session_state[_SET_BY_LINK] = tuple(link.scene.controls)
    for dataset, label in link.scene.models.items():
        entry = catalogue.find(label)
        if entry is None or entry.dataset != dataset:
            problems.append(f"there is no {catalogue.DATASET_TITLES[dataset]} model “{label}” here; "
                            "the sidebar's choice stands")
        else:
            st.session_state[f"model_{dataset}"] = entry
    if link.digit_id:
        digit = digit_store().load(link.digit_id)
        if digit is None:
            problems.append("the link's digit is not stored on this server (digits stay on the "
                            "server where the link was made)")
        else:
            your_digit.restore(digit)
    if link.presenting:
        st.session_state[projector.PRESENTING] = True
    if link.scene.hidden:
        projector.set_hidden(page, link.scene.hidden)
    st.session_state[_PROBLEMS] = problems


def keep_controls() -> None:
    """Streamlit forgets a widget's value once a run does not draw it (the page was left); set
    through session state, the values of every page's controls stay for the whole session."""
    from ui.scenes import PAGE_CONTROLS

    for page in PAGE_CONTROLS:
        for key, value in capture_controls(page, st.session_state).items():
            st.session_state[key] = value


def drop_refused_values(error: Exception) -> bool:
    """The page raised `error` while values a link set are untried: drop the one a widget
    refused (the innermost Streamlit frame that names its key), or all of them when no widget
    names one, and list that among the link's problems. False when no link value can be the
    cause; the caller reruns the page after True."""
    untried = st.session_state.get(_SET_BY_LINK, ())
    if not untried:
        return False
    frames = [frame for frame, _ in traceback.walk_tb(error.__traceback__)]
    named = [frame.f_locals.get("key") for frame in frames if frame.f_globals.get("__name__", "").startswith("streamlit.")]
    refused = next((key for key in reversed(named) if isinstance(key, str) and key in untried), None)
    if refused is not None:
        dropped = [refused]
        problem = (f"{refused} = {st.session_state.get(refused)!r} is not a value this page's control takes "
                   f"({_in_words(error)}); it shows its usual value")
    else:
        dropped = list(untried)
        problem = "the page cannot show the settings this link brings together; it shows its usual ones"
        logging.getLogger(__name__).warning("the page failed on a link's values %s",
                                            {key: st.session_state.get(key) for key in untried}, exc_info=error)
    for key in dropped:
        st.session_state.pop(key, None)
    st.session_state[_SET_BY_LINK] = tuple(key for key in untried if key not in dropped)
    st.session_state[_PROBLEMS] = [*st.session_state.get(_PROBLEMS, ()), problem]
    return True


def _in_words(error: Exception) -> str:
    """Streamlit's message about a refused widget value, without its parameter names' code style."""
    return str(error).replace("`", "").replace("max_value", "largest value").replace("min_value", "smallest value")


def page_got_through() -> None:
    """The page ran to its end (or its st.stop) with the link's values: they are no longer untried."""
    st.session_state[_SET_BY_LINK] = ()
    st.session_state.pop(_PROBLEMS, None)


def show_link_problems() -> None:
    problems = st.session_state.get(_PROBLEMS)
    if problems:
        st.warning("Parts of this link could not be opened:\n\n" + "\n".join(f"- {plain(p, 300)}" for p in problems),
                   icon=":material/link_off:")


def link_params(page: str) -> dict[str, str]:
    scene = current_scene(page)
    digit_id = digit_store().save(scene.digit) if scene.digit is not None else None
    return to_query(scene, digit_id, presenting=projector.presenting())


def show_link(slot, page: str, params: dict[str, str]) -> None:
    """The link to this view, on the class's join address (ui.join), not the address this
    browser happens to use (on the teacher's laptop that is `localhost`)."""
    query = f"?{urlencode(params)}" if params else ""
    slot.code(f"{join.page_url(page)}{query}", language=None, wrap_lines=True)


def mirror_in_link(page: str, link_slot=None) -> None:
    """Write the page's state into the address bar (and the panel's link). Call after the
    page has run."""
    params = link_params(page)
    if params != st.query_params.to_dict():
        st.query_params.from_dict(params)
    st.session_state[_WRITTEN] = params
    if link_slot is not None:
        show_link(link_slot, page, params)


def carried_table(key: str, editor_key: str, default: np.ndarray) -> tuple[np.ndarray, str]:
    """Data editors keep edits, not values, so links and scenes cannot set them; a table of
    numbers travels as text in the control `key` instead. Returns the values an editor should
    start from and the key to give it: `default` and `editor_key`, or the numbers a link or a
    scene just brought, under a fresh editor key. Pair with `carry_table` after the editor."""
    text, state = st.session_state.get(key), f"_carried/{key}"
    shown, start = st.session_state.get(f"{state}/shown"), st.session_state.get(f"{state}/start")
    editor = _editor(start, editor_key)
    # Streamlit drops an editor's edits when a run does not draw it (its page was left); the text still holds them.
    forgotten = editor == st.session_state.get(f"{state}/editor") and editor not in st.session_state
    if text is not None and (text != shown or forgotten):
        values = numbers_from_text(text, default.shape)
        st.session_state[f"{state}/shown"] = text
        if values is None:
            st.warning(f"The numbers in this link do not fit a {'×'.join(map(str, default.shape))} table; "
                       "showing the usual ones.")
        else:
            version = st.session_state.get(f"{state}/version", 0) + 1
            start = st.session_state[f"{state}/start"] = (editor_key, version, values)
            st.session_state[f"{state}/version"] = version
    editor = st.session_state[f"{state}/editor"] = _editor(start, editor_key)
    return (start[2] if editor != editor_key else default), editor


def _editor(start: tuple | None, editor_key: str) -> str:
    """The key of the editor that shows `start` (numbers brought for `editor_key`): a fresh one,
    outside the page's control patterns, for each time numbers were brought."""
    return f"v{start[1]}_{editor_key}" if start is not None and start[0] == editor_key else editor_key


def carry_table(key: str, values: np.ndarray, default: np.ndarray) -> None:
    """Put the edited table in the control `key` (and so in the link), or drop it when it
    equals the default, so an unedited page keeps a short link."""
    state = f"_carried/{key}"
    if np.allclose(values, default, rtol=0, atol=5e-7):
        st.session_state.pop(key, None)
        st.session_state.pop(f"{state}/shown", None)
    else:
        st.session_state[key] = st.session_state[f"{state}/shown"] = numbers_to_text(values)


def go_to(scene: Scene) -> None:
    """Open `scene`: its page, with its state in the link (which `open_link` then applies)."""
    digit_id = digit_store().save(scene.digit) if scene.digit is not None else None
    st.session_state[_WRITTEN] = None   # apply the link even if it equals the last one
    st.switch_page(ROOT / BY_PATH[scene.page].file,
                   query_params=to_query(scene, digit_id, presenting=projector.presenting()))
