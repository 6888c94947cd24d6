"""Teacher mode. When a teacher key is configured (the CNN_LAB_TEACHER_KEY environment
variable, or `teacher_key` in .streamlit/secrets.toml), starting and stopping training needs
it, entered once per browser session in the sidebar; students explore everything else. With
no key configured (one person on a laptop) everything is open."""

from __future__ import annotations

import hmac
import os

import streamlit as st

SESSION_FLAG = "teacher_unlocked"


def configured_key() -> str | None:
    key = os.environ.get("CNN_LAB_TEACHER_KEY")
    if key:
        return key
    try:
        return str(st.secrets["teacher_key"]) or None
    except (KeyError, FileNotFoundError, Exception):   # no secrets file, or no such entry
        return None


def is_teacher() -> bool:
    return configured_key() is None or bool(st.session_state.get(SESSION_FLAG))


def allowed(action: str) -> bool:
    """True when this session may do `action`; otherwise says who may, on the page."""
    if is_teacher():
        return True
    st.info(f"{action} is for the teacher in this classroom: everything else on this page is yours to explore. "
            "(The teacher unlocks it in the sidebar.)")
    return False


def sidebar_unlock() -> None:
    key = configured_key()
    if key is None:
        return
    with st.sidebar:
        if st.session_state.get(SESSION_FLAG):
            st.caption("Teacher mode: you can start and stop training.")
            return
        typed = st.text_input("Teacher key", type="password", key="teacher_key_typed")
        if st.button("Unlock teacher mode", key="teacher_unlock"):
            if hmac.compare_digest(typed.encode(), key.encode()):
                st.session_state[SESSION_FLAG] = True
                st.rerun()
            else:
                st.error("That is not the teacher key.")
