"""CNN Lab: `streamlit run app.py`."""

import streamlit as st

from ui.navigation import SECTIONS
from ui.shell import frame

st.set_page_config(page_title="CNN Lab", page_icon=":material/neurology:", layout="wide")

page = st.navigation({
    section: [st.Page(p.file, title=p.title, icon=p.icon, url_path=p.url_path or None, default=not p.url_path)
              for p in pages]
    for section, pages in SECTIONS.items()
})
frame(page.url_path, page.run)
