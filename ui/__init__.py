"""Streamlit helpers shared by the pages: the sidebar, cached models, per-session state.

Every page imports this package, so it is also where a page is kept from running outside
app.py's frame. Streamlit has two ways of finding pages: st.navigation (ours), and its older
`pages/` folder mode, which it assumes from the folder's existence until a script calls
st.navigation (`PagesManager.uses_pages_directory`, process-wide). On a fresh server whose
first request is a page's address (`/lab`), the folder mode would run `pages/lab.py` on its
own: no sidebar, no link handling, no gate. The first import below turns that mode off and
reruns, so the run starts again from app.py, which opens the page asked for. That works because
every page's address is its file's name (ui/navigation.py): both modes name the page alike."""

from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    if get_script_run_ctx() is not None:
        import streamlit as _st

        _st.rerun()
