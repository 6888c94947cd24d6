import numpy as np
import pandas as pd
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from models import data
from models.inference import predict
from models.inputs import InputError, check_image, ink_from_canvas, ink_from_photo, mnist_digit
from ui import models as ui_models
from ui.inputs import set_your_digit
from viz.charts import class_bars, grey_image

st.title("Draw a digit")
st.markdown(
    "Draw a digit with your mouse or finger. The net never sees your drawing as it is: like "
    "the makers of MNIST, we crop it to the ink, shrink it into a 20×20 box and centre it by "
    "its centre of mass in a 28×28 field. **What to notice:** the net's confidence is a "
    "softmax over ten scores — it always sums to 100%, even for a scribble that is no digit."
)

model, metadata = ui_models.require("mnist")
classes = metadata.get("classes", list(data.MNIST_CLASSES))

SOURCES = ["Draw", "MNIST test image", "Upload a picture"]
source = st.radio("Input", SOURCES, horizontal=True, key="digit_source")

left, right = st.columns([1, 1], gap="large")
digit = None
shown_source = source
with left:
    if source == "Draw":
        stroke = st.slider("Stroke width", 8, 40, 20, key="stroke_width")
        version = st.session_state.setdefault("canvas_version", 0)
        canvas = st_canvas(
            stroke_width=stroke, stroke_color="#FFFFFF", background_color="#000000",
            height=280, width=280, drawing_mode="freedraw", return_image_data=True,
            key=f"digit_canvas_{version}",
        )
        if st.button("Clear the drawing", icon=":material/ink_eraser:"):
            st.session_state["canvas_version"] = version + 1
            st.rerun()
        st.caption("The toolbar above the canvas has undo, redo and a bin that clears it too.")
        if canvas is not None and canvas.image_data is not None:
            digit = mnist_digit(ink_from_canvas(canvas.image_data))
        shown_source = "your drawing"
    elif source == "MNIST test image":
        try:
            test_set = data.load("mnist", train=False)
        except data.DataNotFoundError as error:
            st.error(f"The MNIST test set is not available here. {error}")
            test_set = None
        if test_set is not None:
            pick_col, random_col = st.columns(2)
            with random_col:
                wanted = st.selectbox("A random test image of class", classes, key="random_class")
                if st.button(f"Random {wanted}"):
                    candidates = np.flatnonzero(test_set.labels.numpy() == classes.index(wanted))
                    st.session_state["mnist_index"] = int(np.random.default_rng().choice(candidates))
            with pick_col:
                index = st.number_input("Test image number", 0, len(test_set) - 1, key="mnist_index")
            digit = test_set.images[int(index), 0].numpy()
            label = classes[int(test_set.labels[int(index)])]
            st.plotly_chart(grey_image(digit, f"Test image {index} (labelled {label})"), width="stretch")
            shown_source = f"MNIST test image {index}"
    else:
        upload = st.file_uploader("A PNG or JPEG picture of one digit", type=["png", "jpg", "jpeg"])
        if upload is not None:
            try:
                picture = check_image(upload.getvalue())
            except InputError as error:
                st.error(str(error))
            else:
                st.image(picture, caption=f"{upload.name} ({picture.width}×{picture.height})", width=280)
                digit = mnist_digit(ink_from_photo(picture))
                if digit is None:
                    st.warning("This picture looks empty: no strokes stand out from the background.")
                shown_source = f"upload {upload.name}"

with right:
    if digit is None:
        set_your_digit(None, "")
        st.info("Draw a digit (or pick one) and the net's answer appears here.")
    else:
        set_your_digit(digit, shown_source)
        prediction = predict(model, digit, metadata)
        top = prediction.top
        net_sees, verdict = st.columns([1, 1])
        with net_sees:
            st.plotly_chart(grey_image(digit, "What the net sees (28×28)", height=230), width="stretch")
        with verdict:
            st.markdown("The net says")
            st.container(key="predicted_digit").markdown(
                f"<div style='font-size:96px;line-height:1;font-weight:700'>{classes[top]}</div>",
                unsafe_allow_html=True,
            )
            st.markdown(f"with softmax confidence **{prediction.probabilities[top]:.2%}**")
        st.plotly_chart(
            class_bars(prediction.probabilities, classes, "Softmax over the ten classes",
                       highlight=top, as_percent=True, height=260),
            width="stretch",
        )
        st.dataframe(
            pd.DataFrame({
                "rank": [1, 2, 3],
                "class": [classes[i] for i in prediction.top_k(3)],
                "confidence": [f"{prediction.probabilities[i]:.2%}" for i in prediction.top_k(3)],
                "score (logit)": [round(float(prediction.scores[i]), 3) for i in prediction.top_k(3)],
            }),
            hide_index=True, width="stretch",
        )
        st.caption("This digit is now “your digit” on the other pages.")
