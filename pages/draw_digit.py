import pandas as pd
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from models import data
from models.inference import predict
from models.inputs import InputError, canvas_image, ink_from_canvas, mnist_digit, net_input
from ui import catalogue
from ui.inputs import input_sources, pick_image
from ui.scenes import DrawingError, checked_drawing
from ui import your_digit
from ui.projector import teaching
from viz.charts import class_bars, grey_image

st.title("Draw a digit")
teaching(
    "Draw a digit with your mouse or finger. The net never sees your drawing as it is: like "
    "the makers of MNIST, we crop it to the ink, shrink it into a 20×20 box and centre it by "
    "its centre of mass in a 28×28 field. **What to notice:** the net's confidence is a "
    "softmax over ten scores — it always sums to 100%, even for a scribble that is no digit.",
    "Draw a digit: the net answers as you draw.",
)

model, metadata = catalogue.require("mnist")
classes = metadata.get("classes", list(data.MNIST_CLASSES))

DRAW = "Draw"
source = st.radio("Input", [DRAW] + input_sources("mnist", with_your_digit=False), horizontal=True,
                  key="digit_source")

left, right = st.columns([1, 1], gap="large")
digit, shown_source = None, ""
with left:
    if source == DRAW:
        stroke = st.slider("Stroke width", 8, 40, 20, key="stroke_width")
        version = your_digit.canvas_version()
        canvas = st_canvas(
            stroke_width=stroke, stroke_color="#FFFFFF", background_color="#000000",
            height=280, width=280, drawing_mode="freedraw", return_image_data=True,
            initial_drawing=your_digit.strokes(),   # redrawn after a page switch, a link or a lesson
            key=f"digit_canvas_{version}",
        )
        if canvas is not None and canvas.image_bytes is not None:
            try:
                pixels = canvas_image(canvas.image_bytes)   # size-checked before it is decoded
                your_digit.drew(mnist_digit(ink_from_canvas(pixels)), checked_drawing(canvas.json_data))
            except (InputError, DrawingError) as error:
                st.error(str(error))
        digit = your_digit.canvas_digit()
        if st.button("Clear the drawing", icon=":material/ink_eraser:"):
            your_digit.clear_canvas()
            st.rerun()
        st.caption("Point at the canvas for its toolbar: undo, redo and a bin that clears it too.")
        shown_source = your_digit.DRAWN
    else:
        picked = pick_image("mnist", source, key="digit")
        if picked is not None:
            digit, shown_source = picked

with right:
    if digit is None:
        if source == DRAW:   # an empty canvas: the student wiped their digit
            your_digit.set_your_digit(None, "")
        st.info("Draw a digit (or pick one) and the net's answer appears here.")
    else:
        your_digit.set_your_digit(digit, shown_source)
        prediction = predict(model, net_input(digit, metadata))
        top = prediction.top
        net_sees, verdict = st.columns([1, 1])
        with net_sees:
            st.plotly_chart(grey_image(digit, "What the net sees (28×28)", height=230), width="stretch")
        with verdict:
            st.markdown("The net says")
            st.html("<style>.st-key-predicted_digit p {font-size: 96px; line-height: 1; font-weight: 700}</style>")
            st.container(key="predicted_digit").markdown(classes[top])
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
