import hashlib

import numpy as np
import pandas as pd
import streamlit as st

from models import data, softmax
from models.inference import predict
from models.inputs import net_input
from ui import catalogue
from ui.inputs import input_sources, pick_image
from ui.links import carried_table, carry_table
from ui.projector import teaching
from viz.charts import class_bars, nll_curve

st.title("Softmax vs log-softmax")
teaching(
    "A net ends with ten raw **scores** (logits). Softmax turns them into numbers that are "
    "positive and sum to one — a *likelihood-like confidence*, not a calibrated probability. "
    "Training minimises the **negative log-likelihood** of the right class: the net's "
    "“unhappiness”, zero when it is certain and right, huge when it is sure and wrong.",
    "Scores → softmax confidences → the loss that training minimises.",
)

model, metadata = catalogue.require("mnist")
classes = metadata.get("classes", list(data.MNIST_CLASSES))

# --- Where the scores come from ------------------------------------------------------------
TYPED = "Type your own"
source = st.radio("Scores from", input_sources("mnist") + [TYPED], horizontal=True, key="softmax_source")
if source == TYPED:
    base_scores = np.array([1.0, -0.5, 0.2, 3.0, -1.0, 0.0, 0.5, 2.0, -2.0, 1.5])
    origin = "scores typed in by hand"
else:
    picked = pick_image("mnist", source, key="softmax")
    if picked is None:
        st.stop()
    image, description = picked
    base_scores = predict(model, net_input(image, metadata)).scores
    origin = f"the net's scores for {description}"

controls, charts = st.columns([1, 3], gap="large")
with controls:
    st.caption(f"Starting from {origin}. Edit any score to see what changes.")
    shown_scores = np.round(np.asarray(base_scores, dtype=float), 3)
    start, editor_key = carried_table("softmax_scores", "scores_" + hashlib.sha1(origin.encode()).hexdigest()[:10],
                                      shown_scores)
    edited = st.data_editor(
        pd.DataFrame({"class": classes, "score": start}),
        column_config={"class": st.column_config.TextColumn(disabled=True),
                       "score": st.column_config.NumberColumn(format="%.3f")},
        hide_index=True, key=editor_key,
    )
    scores = softmax.finite_scores(edited["score"])
    if scores is None:
        st.error("Every score must be a finite number (no blanks, NaN or infinity). "
                 "Showing the scores before your edit.")
        scores = np.asarray(start, dtype=float)
    carry_table("softmax_scores", scores, shown_scores)
    temperature = st.select_slider(
        "Temperature T (softmax of scores / T)",
        options=[0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0], value=1.0, key="temperature",
    )
    probabilities = softmax.softmax(scores, temperature)
    log_probabilities = softmax.log_softmax(scores, temperature)
    target = st.selectbox("Target (the right answer)", range(len(classes)),
                          index=int(probabilities.argmax()), format_func=lambda i: classes[i],
                          key="softmax_target")

with charts:
    bars = st.columns(2)
    bars[0].plotly_chart(class_bars(probabilities, classes, "softmax(z / T)", highlight=target,
                                    as_percent=True), width="stretch")
    bars[1].plotly_chart(class_bars(log_probabilities, classes, "log-softmax(z / T)", highlight=target),
                         width="stretch")
    curve, numbers = st.columns([3, 2])
    curve.plotly_chart(nll_curve(float(probabilities[target]), softmax.nll(scores, target, temperature)),
                       width="stretch")
    numbers.markdown(
        f"For target **{classes[target]}**:\n\n"
        f"p = {probabilities[target]:.4f}\n\n"
        f"NLL = −log p = **{softmax.nll(scores, target, temperature):.4f}**\n\n"
        "Log-softmax is log p for every class: all its values are ≤ 0, and the target's is "
        "−NLL. Lower the temperature and the net becomes surer: right answers cost less, wrong "
        "ones far more."
    )

with st.expander("All the numbers", expanded=False):
    st.dataframe(
        pd.DataFrame({"class": classes, "score": scores, "softmax": probabilities,
                      "log-softmax": log_probabilities}),
        hide_index=True, width="stretch", key="softmax_table",
    )

# --- Shift and scale -------------------------------------------------------------------------
st.subheader("Adding to every score changes nothing; multiplying sharpens")
st.markdown(
    "Softmax only cares about the *differences* between scores: e^(z+c) / Σ e^(z+c) = "
    "e^z / Σ e^z. Multiplying all scores by a > 1 stretches the differences, so the largest "
    "score takes even more of the total; a < 1 squeezes them and the confidence spreads out "
    "(that is what a temperature T = 1/a does)."
)
shift_col, scale_col = st.columns(2)
with shift_col:
    shift = st.slider("Add c to every score", -20.0, 20.0, 5.0, 0.5, key="shift")
    shifted = softmax.softmax(scores + shift)
    st.plotly_chart(class_bars(shifted, classes, f"softmax(z + {shift:g})", highlight=target, as_percent=True,
                               height=260), width="stretch")
    st.caption(f"Largest change against softmax(z): {np.abs(shifted - softmax.softmax(scores)).max():.1e}")
with scale_col:
    scale = st.slider("Multiply every score by a", 0.05, 5.0, 0.25, 0.05, key="scale")
    scaled = softmax.softmax(scores * scale)
    st.plotly_chart(class_bars(scaled, classes, f"softmax({scale:g} · z)", highlight=target, as_percent=True,
                               height=260), width="stretch")
    st.caption(f"Top confidence {scaled.max():.1%} against {softmax.softmax(scores).max():.1%} at a = 1.")

# --- Numerical stability ---------------------------------------------------------------------
st.subheader("Why log-softmax is computed in one step")
st.markdown(
    "Computed literally, log(softmax(z)) needs e^z, and in float32 e^89 already overflows to "
    "infinity: infinity / infinity is NaN. The log-sum-exp trick subtracts the largest score "
    "first, so every exponent is ≤ 0 and nothing overflows:"
)
st.latex(r"\log \mathrm{softmax}(z)_i = (z_i - m) - \log \sum_j e^{z_j - m},\qquad m = \max_j z_j")
st.caption("z − m comes first: written as z − (m + log Σ), a large m would swallow the small log term in "
           "float32 (at m = 10,000 it is rounded to a multiple of 0.001). The column below computes it this way.")
big = st.number_input("Largest score", -10_000.0, 10_000.0, 1000.0, 100.0, key="big_score")
stress = np.array([big, big - 1, big - 5, 0.0, -big])
st.dataframe(
    pd.DataFrame({
        "score z": [f"{v:g}" for v in stress],
        "naive log(softmax(z)) in float32": [f"{v:.7g}" for v in softmax.naive_log_softmax(stress)],
        "log-sum-exp log-softmax in float32": [f"{v:.7g}" for v in softmax.log_softmax(stress, dtype=np.float32)],
    }),
    hide_index=True, width="stretch", key="stability_table",
)
st.caption("PyTorch's `torch.log_softmax` and `F.cross_entropy` use the stable form — "
           "that is why nets output log-softmax and train with the NLL loss.")
