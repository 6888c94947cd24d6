"""Teacher mode. When a teacher key is configured (the CNN_LAB_TEACHER_KEY environment
variable, or `teacher_key` in .streamlit/secrets.toml), starting and stopping training needs
it, entered once per browser session in the sidebar; students explore everything else. With
no key configured (one person on a laptop) everything is open."""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from collections import deque

import streamlit as st

from ui.browser import me

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


# Guessing the key: each session waits 2, 4, 8 ... seconds after each wrong key and is locked out
# after SESSION_TRIES of them; the whole server refuses every try for a while once SERVER_TRIES
# wrong keys came within SERVER_WINDOW seconds, whoever sent them.
SESSION_TRIES = 5
SESSION_LOCKOUT = 600.0
SERVER_TRIES = 20
SERVER_WINDOW = 600.0
SERVER_LOCKOUT = 300.0
SHORT_KEY = 12
_log = logging.getLogger("cnn_lab.teacher")
_lock = threading.Lock()
_server_failures: deque[float] = deque()
_server_locked_until = 0.0
_warned_short = False


def _refusal(now: float) -> str | None:
    """Why a try is refused right now without looking at the key, or None."""
    if now < _server_locked_until:
        return f"Too many wrong keys on this server: unlocking is paused for {_server_locked_until - now:.0f} s."
    failures = st.session_state.get("_teacher_failures", 0)
    last = st.session_state.get("_teacher_last_failure", 0.0)
    if failures >= SESSION_TRIES and now - last < SESSION_LOCKOUT:
        return f"Too many wrong keys: this browser may try again in {SESSION_LOCKOUT - (now - last):.0f} s."
    wait = 2.0 ** failures if failures else 0.0
    if now - last < wait:
        return f"Wait {wait - (now - last):.0f} s before the next try."
    return None


def _failed(now: float) -> None:
    global _server_locked_until
    failures = st.session_state.get("_teacher_failures", 0) + 1
    if now - st.session_state.get("_teacher_last_failure", 0.0) > SESSION_LOCKOUT:
        failures = 1
    st.session_state["_teacher_failures"] = failures
    st.session_state["_teacher_last_failure"] = now
    with _lock:
        _server_failures.append(now)
        while _server_failures and now - _server_failures[0] > SERVER_WINDOW:
            _server_failures.popleft()
        if len(_server_failures) >= SERVER_TRIES:
            _server_locked_until = now + SERVER_LOCKOUT
            _server_failures.clear()
            _log.warning("teacher key: %d wrong keys within %.0f s; unlocking paused for %.0f s",
                         SERVER_TRIES, SERVER_WINDOW, SERVER_LOCKOUT)
    _log.warning("teacher key: wrong key from browser #%s (%d in a row)", me()[:4], failures)


def warn_if_short(key: str) -> None:
    """Once per server: a short key can be guessed (said in the server's log, not to students)."""
    global _warned_short
    if len(key) < SHORT_KEY and not _warned_short:
        _warned_short = True
        _log.warning("the teacher key has %d characters; use at least %d so it cannot be guessed", len(key), SHORT_KEY)


def try_key(typed: str) -> str | None:
    """Unlock teacher mode with `typed`. None when it worked, else what to tell the user."""
    key = configured_key()
    if key is None:
        return None
    now = time.monotonic()
    refusal = _refusal(now)
    if refusal is not None:
        return refusal
    if hmac.compare_digest(typed.encode(), key.encode()):
        st.session_state[SESSION_FLAG] = True
        st.session_state["_teacher_failures"] = 0
        return None
    _failed(now)
    return "That is not the teacher key."


def sidebar_unlock() -> None:
    key = configured_key()
    if key is None:
        return
    warn_if_short(key)
    with st.sidebar:
        if st.session_state.get(SESSION_FLAG):
            st.caption("Teacher mode: you can start and stop training.")
            return
        typed = st.text_input("Teacher key", type="password", key="teacher_key_typed")
        if st.button("Unlock teacher mode", key="teacher_unlock"):
            problem = try_key(typed)
            if problem is None:
                st.rerun()
            st.error(problem)
