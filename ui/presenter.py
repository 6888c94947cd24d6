"""Scenes in a session: links that reproduce a view, lessons walked scene by scene, and the
projector layout. app.py calls `open_link` before the page runs and `mirror_in_link` after.

Every way of restoring a scene goes through the link: walking a lesson switches to the
scene's page with the scene's query parameters, and `open_link` applies them."""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import streamlit as st

from ui import join
from ui import catalogue
from ui.navigation import BY_PATH
from ui.scenes import (
    SAFE_KEY,
    DigitStore,
    Lesson,
    LessonError,
    Scene,
    capture_controls,
    from_query,
    lesson_from_json,
    numbers_from_text,
    numbers_to_text,
    to_query,
)
from ui.text import plain
from ui import your_digit

ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = ROOT / "lessons"
_WRITTEN = "link_written"        # the query parameters this session last applied or wrote
_PROBLEMS = "link_problems"
PRESENTING = "presenting"
_HIDDEN = "presenter_hidden"     # page -> control keys hidden when presenting
LESSON = "lesson"
LESSON_INDEX = "lesson_index"


def digit_store() -> DigitStore:
    return DigitStore(catalogue.runs_dir() / "shared_digits")


def hidden_controls(page: str) -> list[str]:
    return st.session_state.setdefault(_HIDDEN, {}).get(page, [])


def _set_hidden(page: str, keys: list[str]) -> None:
    st.session_state.setdefault(_HIDDEN, {})[page] = list(keys)
    st.session_state[f"scene_hide_{page}"] = list(keys)   # the panel's picker shows them


def current_scene(page: str, title: str = "", note: str = "") -> Scene:
    """What `page` shows in this session now."""
    models = {}
    for dataset in catalogue.DATASET_TITLES:
        entry = catalogue.current_entry(dataset)
        if entry is not None:
            models[dataset] = entry.label
    return Scene(page, title, capture_controls(page, st.session_state), models, your_digit.as_scene_digit(),
                 list(hidden_controls(page)), note)


def open_link(page: str) -> None:
    """Apply the URL's scene to this session, unless the URL is the one this session wrote.
    Call before the sidebar and the page create their widgets."""
    params = st.query_params.to_dict()
    st.session_state["_set_by_link"] = ()
    if params == st.session_state.get(_WRITTEN):
        return
    st.session_state[_WRITTEN] = params
    link = from_query(page, params)
    problems = list(link.problems)
    for key, value in link.scene.controls.items():
        st.session_state[key] = value
    st.session_state["_set_by_link"] = tuple(link.scene.controls)
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
        st.session_state[PRESENTING] = True
    if link.scene.hidden:
        _set_hidden(page, link.scene.hidden)
    st.session_state[_PROBLEMS] = problems


def keep_controls() -> None:
    """Streamlit forgets a widget's value once a run does not draw it (the page was left); set
    through session state, the values of every page's controls stay for the whole session."""
    from ui.scenes import PAGE_CONTROLS

    for page in PAGE_CONTROLS:
        for key, value in capture_controls(page, st.session_state).items():
            st.session_state[key] = value


def show_link_problems() -> None:
    problems = st.session_state.pop(_PROBLEMS, None)
    if problems:
        st.warning("Parts of this link could not be opened:\n\n" + "\n".join(f"- {plain(p, 300)}" for p in problems),
                   icon=":material/link_off:")


def link_params(page: str) -> dict[str, str]:
    scene = current_scene(page)
    digit_id = digit_store().save(scene.digit) if scene.digit is not None else None
    return to_query(scene, digit_id, presenting=st.session_state.get(PRESENTING, False))


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
    if text is not None and text != shown:
        values = numbers_from_text(text, default.shape)
        st.session_state[f"{state}/shown"] = text
        if values is None:
            st.warning(f"The numbers in this link do not fit a {'×'.join(map(str, default.shape))} table; "
                       "showing the usual ones.")
        else:
            version = st.session_state.get(f"{state}/version", 0) + 1
            start = st.session_state[f"{state}/start"] = (editor_key, version, values)
            st.session_state[f"{state}/version"] = version
    if start is not None and start[0] == editor_key:
        return start[2], f"v{start[1]}_{editor_key}"   # outside the page's control patterns
    return default, editor_key


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
                   query_params=to_query(scene, digit_id, presenting=st.session_state.get(PRESENTING, False)))


# --- Lessons ---------------------------------------------------------------------------------


def shipped_lessons() -> dict[str, Path]:
    return {path.stem.replace("_", " "): path for path in sorted(LESSONS_DIR.glob("*.json"))}


def load_lesson(text: str | bytes, name: str) -> list[str] | None:
    """Make the file the session's lesson and return what could not be loaded (shown on the
    page); None when nothing was loaded."""
    try:
        lesson, problems = lesson_from_json(text, set(BY_PATH))
    except LessonError as error:
        st.error(f"{plain(name, 80)} cannot be opened: {plain(error, 300)}. Nothing was loaded.")
        return None
    if not lesson.scenes:
        st.error(f"{plain(name, 80)} has no scene this app can show. Nothing was loaded."
                 + "".join(f"\n- {plain(p, 300)}" for p in problems[:20]))
        return None
    if problems:
        st.warning(f"{plain(name, 80)}: loaded {len(lesson.scenes)} scenes; these parts could not be loaded:\n\n"
                   + "\n".join(f"- {plain(p, 300)}" for p in problems[:20])
                   + (f"\n- … and {len(problems) - 20} more" if len(problems) > 20 else ""))
    st.session_state[LESSON] = lesson
    st.session_state[LESSON_INDEX] = None
    return problems


def _lesson() -> Lesson:
    return st.session_state.setdefault(LESSON, Lesson("My lesson"))


def _step(offset: int) -> None:
    lesson = _lesson()
    index = st.session_state.get(LESSON_INDEX)
    index = 0 if index is None else min(max(index + offset, 0), len(lesson.scenes) - 1)
    st.session_state[LESSON_INDEX] = index
    go_to(lesson.scenes[index])


def _pick_scene() -> None:
    st.session_state["lesson_goto"] = st.session_state["lesson_pick"]
    st.session_state["lesson_pick"] = None   # the picker is a menu, not a state


def lesson_navigation(key: str) -> None:
    """Previous / "scene i of n" / next for the session's lesson."""
    lesson = _lesson()
    if not lesson.scenes:
        return
    index = st.session_state.get(LESSON_INDEX)
    back, where, forward = st.columns([1, 4, 1], vertical_alignment="center")
    tips = key == "panel"   # no tooltips on the projector's bar: they would cover the scene's line
    if back.button("", icon=":material/arrow_back:", key=f"{key}_back", help="Previous scene" if tips else None,
                   disabled=index is None or index == 0):
        _step(-1)
    if index is None:
        where.markdown(f"**{plain(lesson.title, 80)}** · {len(lesson.scenes)} scenes")
    else:
        where.markdown(f"**{index + 1} / {len(lesson.scenes)}** · {plain(lesson.scenes[index].title, 80)}")
    if forward.button("", icon=":material/arrow_forward:", key=f"{key}_next", help="Next scene" if tips else None,
                      disabled=index is not None and index == len(lesson.scenes) - 1):
        _step(1)


def scene_panel(page: str):
    """The sidebar's "Scenes, links and lessons" panel. Returns the slot for the link, which
    `mirror_in_link` fills once the page has run."""
    with st.sidebar.expander("Scenes, links and lessons", icon=":material/slideshow:"):
        st.toggle("Presenter mode", key=PRESENTING,
                  help="For the projector: hides the sidebar and the controls you pick, enlarges "
                       "text and charts, and shortens the teaching text.")
        st.markdown("**Link to this view**")
        link_slot = st.empty()
        show_link(link_slot, page, link_params(page))
        st.caption("Copy it with the icon at its right: it opens this page as you see it now, "
                   "in any browser that reaches this server.")

        st.markdown("**Lesson**")
        lesson_navigation("panel")
        lesson = _lesson()
        if lesson.scenes:
            st.selectbox("Go to scene", range(len(lesson.scenes)), index=None,
                         format_func=lambda i: f"{i + 1}. {lesson.scenes[i].title}",
                         key="lesson_pick", placeholder="Choose a scene", on_change=_pick_scene)
            if (chosen := st.session_state.pop("lesson_goto", None)) is not None:
                st.session_state[LESSON_INDEX] = chosen
                go_to(lesson.scenes[chosen])

        controls = sorted(set(capture_controls(page, st.session_state)) | set(hidden_controls(page)))
        title = st.text_input("Scene title", placeholder=BY_PATH[page].title, key="scene_title")
        note = st.text_input("One line for the projector (optional)", key="scene_note")
        hidden = st.multiselect("Controls to hide when presenting", controls, default=hidden_controls(page),
                                key=f"scene_hide_{page}")
        st.session_state[_HIDDEN][page] = hidden
        if st.button("Add this view to the lesson", icon=":material/add:", key="scene_add"):
            lesson.scenes.append(current_scene(page, title or BY_PATH[page].title, note))
            st.session_state[LESSON_INDEX] = len(lesson.scenes) - 1
            st.toast(f"Scene {len(lesson.scenes)} added: {plain(title or BY_PATH[page].title, 80)}")

        st.download_button("Export the lesson (JSON)", lesson.to_json(), "lesson.json",
                           mime="application/json", icon=":material/download:", key="lesson_export",
                           disabled=not lesson.scenes)
        shipped = shipped_lessons()
        pick = st.selectbox("Open a ready lesson", list(shipped), index=None, key="lesson_shipped",
                            placeholder="Choose a lesson")
        if pick is not None and st.button("Open it", key="lesson_open"):
            if load_lesson(shipped[pick].read_bytes(), pick) == []:   # it fits: start at scene 1
                _step(0)
        upload = st.file_uploader("Import a lesson (JSON)", type=["json"], key="lesson_import")
        if upload is not None and st.session_state.get("lesson_imported") != upload.file_id:
            st.session_state["lesson_imported"] = upload.file_id
            load_lesson(upload.getvalue(), upload.name)
        if lesson.scenes and st.button("Start a new, empty lesson", key="lesson_clear"):
            st.session_state[LESSON] = Lesson("My lesson")
            st.session_state[LESSON_INDEX] = None
            st.rerun()
    return link_slot


# --- The projector layout --------------------------------------------------------------------


def presenting() -> bool:
    return bool(st.session_state.get(PRESENTING))


def teaching(text: str, short: str = "") -> None:
    """A page's teaching text; on the projector only its short form (or nothing)."""
    if not presenting():
        st.markdown(text)
    elif short:
        st.markdown(f"<p style='font-size:1.35rem'>{short}</p>", unsafe_allow_html=True)


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


def _leave_presenter_mode() -> None:
    st.session_state[PRESENTING] = False


def presenter_bar(page: str) -> None:
    """In presenter mode: the projector's style, and a slim bar to walk the lesson."""
    if not presenting():
        return
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
    with st.container(border=True, key="presenter_bar"):
        index = st.session_state.get(LESSON_INDEX)
        lesson = _lesson()
        if index is not None and index < len(lesson.scenes) and lesson.scenes[index].note \
                and lesson.scenes[index].page == page:   # above the buttons, so nothing covers it
            st.markdown(f"<p style='font-size:1.5rem;margin:0'>{html.escape(lesson.scenes[index].note)}</p>",
                        unsafe_allow_html=True)
        navigation, leave = st.columns([3, 1], vertical_alignment="center")
        with navigation:
            if _lesson().scenes:
                lesson_navigation("bar")
            else:
                st.caption("No lesson is open. Leave presenter mode to open one in the sidebar "
                           "(Scenes, links and lessons), then walk it here with ← →.")
        leave.button("Leave presenter mode", icon=":material/close_fullscreen:", key="presenter_leave",
                     on_click=_leave_presenter_mode)
