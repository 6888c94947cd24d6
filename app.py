"""CNN Lab: `streamlit run app.py`."""

import streamlit as st

from ui.models import sidebar, sidebar_device_line
from ui.teacher import sidebar_unlock

st.set_page_config(page_title="CNN Lab", page_icon=":material/neurology:", layout="wide")

PAGES = {
    "Start": [
        st.Page("pages/home.py", title="Welcome", icon=":material/home:", default=True),
        st.Page("pages/draw_digit.py", title="Draw a digit", icon=":material/draw:", url_path="draw"),
        st.Page("pages/softmax.py", title="Softmax vs log-softmax", icon=":material/bar_chart:", url_path="softmax"),
    ],
    "Seeing inside a CNN": [
        st.Page("pages/convolution.py", title="Convolution, step by step", icon=":material/grid_on:",
                url_path="convolution"),
        st.Page("pages/feature_maps.py", title="Feature maps and ReLU", icon=":material/layers:",
                url_path="feature-maps"),
        st.Page("pages/kernels.py", title="Kernels: 3×3, 7×7, 11×11", icon=":material/apps:",
                url_path="kernels"),
        st.Page("pages/gradcam.py", title="Grad-CAM", icon=":material/visibility:", url_path="grad-cam"),
        st.Page("pages/strides.py", title="Strides and the checkerboard", icon=":material/grid_4x4:",
                url_path="strides"),
    ],
    "Training dynamics": [
        st.Page("pages/batch_norm.py", title="Batch norm", icon=":material/stacked_line_chart:",
                url_path="batch-norm"),
        st.Page("pages/teacher.py", title="The training worker", icon=":material/memory:",
                url_path="worker"),
    ],
    "Build your own": [
        st.Page("pages/lab.py", title="Architecture lab", icon=":material/construction:", url_path="lab"),
    ],
}

page = st.navigation(PAGES)
sidebar()
sidebar_unlock()
page.run()
sidebar_device_line()   # last: it imports torch, which the first page a student sees may not need
