"""CNN Lab: `streamlit run app.py`."""

import streamlit as st

from ui.models import sidebar

st.set_page_config(page_title="CNN Lab", page_icon="🧠", layout="wide")

PAGES = {
    "Start": [
        st.Page("pages/home.py", title="Welcome", icon="🏠", default=True),
        st.Page("pages/draw_digit.py", title="Draw a digit", icon="✏️", url_path="draw"),
        st.Page("pages/softmax.py", title="Softmax vs log-softmax", icon="📊", url_path="softmax"),
    ],
}

page = st.navigation(PAGES)
sidebar()
page.run()
