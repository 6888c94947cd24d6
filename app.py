"""CNN Lab: `streamlit run app.py`."""

import os
from pathlib import Path

# One CPU thread per torch computation, set before torch loads. A class's sessions compute side
# by side; a thread team per computation on top of that oversubscribes the cores (30 students at
# once on 2 cores: 36 s -> 12 s, bench/ws_load.py), and the small nets train no slower.
# A CPU-only machine that trains big nets can set OMP_NUM_THREADS itself.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import streamlit as st  # noqa: E402

from ui.navigation import SECTIONS  # noqa: E402
from ui.shell import frame  # noqa: E402

# The icon is a local file: a material icon would make every browser fetch it from a font server.
st.set_page_config(page_title="CNN Lab", page_icon=str(Path(__file__).parent / "ui" / "static" / "icon.png"),
                   layout="wide")

page = st.navigation({
    section: [st.Page(p.file, title=p.title, icon=p.icon, url_path=p.url_path or None, default=not p.url_path)
              for p in pages]
    for section, pages in SECTIONS.items()
}, expanded=True)   # every page in view: folded, the sidebar would hide the last seven behind "View more"
frame(page.url_path, page.run)
