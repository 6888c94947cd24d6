"""Lessons: scenes collected into a list a teacher walks with ← →, in the sidebar's "Scenes,
links and lessons" panel and, on the projector, in a slim bar over the page; exported and
imported as JSON (ui.scenes reads and writes the files)."""

from __future__ import annotations

import html
from pathlib import Path

import streamlit as st

from ui import projector
from ui.links import current_scene, go_to
from ui.navigation import BY_PATH
from ui.scenes import Lesson, LessonError, capture_controls, lesson_from_json
from ui.text import plain

ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = ROOT / "lessons"
LESSON = "lesson"
LESSON_INDEX = "lesson_index"


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
        st.toggle("Presenter mode", key=projector.PRESENTING,
                  help="For the projector: hides the sidebar and the controls you pick, enlarges "
                       "text and charts, and shortens the teaching text.")
        st.markdown("**Link to this view**")
        link_slot = st.empty()   # filled once the page has run (ui.links.mirror_in_link)
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

        controls = sorted(set(capture_controls(page, st.session_state)) | set(projector.hidden_controls(page)))
        title = st.text_input("Scene title", placeholder=BY_PATH[page].title, key="scene_title")
        note = st.text_input("One line for the projector (optional)", key="scene_note")
        hidden = st.multiselect("Controls to hide when presenting", controls, default=projector.hidden_controls(page),
                                key=f"scene_hide_{page}")
        projector.remember_hidden(page, hidden)
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


def _leave_presenter_mode() -> None:
    st.session_state[projector.PRESENTING] = False


def presenter_bar(page: str) -> None:
    """In presenter mode: the projector's style, and a slim bar to walk the lesson."""
    if not projector.presenting():
        return
    projector.projector_style()
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
