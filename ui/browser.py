"""Who is asking: this browser (all its tabs and reloads share it) and this tab's session."""

from __future__ import annotations

import hashlib

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx


def session_id() -> str:
    context = get_script_run_ctx()
    return context.session_id if context else "?"


def me() -> str:
    """Who this browser is: a key shared by all its tabs and reloads (from Streamlit's XSRF
    cookie, which the server sets once per browser), or this session's own id without one."""
    try:
        cookie = st.context.cookies.get("_streamlit_xsrf")
    except Exception:   # no request context (AppTest)
        cookie = None
    if not isinstance(cookie, str) or not cookie:
        cookie = None
    return hashlib.sha256((cookie or session_id()).encode()).hexdigest()[:16]
