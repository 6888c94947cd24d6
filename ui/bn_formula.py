"""The batch-norm formula, step by step on a real batch: a self-contained section for the
Batch norm page (`show_bn_formula()`); its controls are keyed bnf_*."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from torch import nn

from models import data
from models.bn_formula import as_features, bn_input, bn_layers, step_by_step
from ui import catalogue
from ui.projector import teaching
from viz.knobs import bn_histograms


def show_bn_formula() -> None:
    st.subheader("The formula, computed on a real batch")
    teaching(
        "For one channel, batch norm takes every value that channel holds in the batch — for a convolution "
        "that is all N images × H × W positions, for a fully connected layer the N values of one feature — and "
        "computes their mean **μ** and variance **σ²**. Each value becomes **x̂ = (x − μ) / √(σ² + ε)** (ε, a "
        "small constant, keeps the division safe) and leaves as **y = γ·x̂ + β**, with γ and β learned, one pair "
        "per channel: the net can undo the normalisation where that helps. In evaluation μ and σ² are the "
        "running averages collected in training. Batch norm goes after a convolution or FC layer, never right "
        "before the prediction: the last layer's scores must be free to take any scale.",
        "y = γ·(x − μ)/√(σ² + ε) + β, per channel, over the batch (and H×W for convolutions).",
    )
    model, metadata = catalogue.require("mnist")
    layers = bn_layers(model)
    if not layers:
        st.info("The MNIST model chosen in the sidebar has no batch-norm layer: choose one that has (the GAP net).")
        return
    test_set = data.test_images("mnist")
    controls = st.columns(4)
    layer = controls[0].selectbox("Batch-norm layer", layers, key="bnf_layer")
    bn = dict(model.named_modules())[layer]
    channel = int(controls[1].number_input("Channel", 0, bn.num_features - 1, 0, key="bnf_channel"))
    batch = controls[2].select_slider("Batch (test images)", [2, 8, 32, 128], 32, key="bnf_batch")
    mode = controls[3].radio("Mode", ["training", "evaluation"], horizontal=True, key="bnf_mode")
    x = data.normalise(test_set.images[:batch], test_set.mean, test_set.std)
    arriving = bn_input(model, layer, x)
    steps = step_by_step(arriving, bn, channel, training=mode == "training")
    shape = " × ".join(str(s) for s in steps["shape"])
    per = "N" if len(steps["shape"]) == 2 else "N × H × W"
    where = "this batch" if steps["training"] else "the running averages (collected in training)"
    st.dataframe(pd.DataFrame([
        {"step": f"values per μ, σ² ({per})", "value": f"{steps['count']:,}",
         "how": f"channel {channel} of the {shape} tensor that arrives"},
        {"step": "μ", "value": f"{steps['mu']:.6f}", "how": f"mean, from {where}"},
        {"step": "σ²", "value": f"{steps['var']:.6f}",
         "how": f"mean squared distance from μ, from {where}" + (" (divided by N, not N − 1)" if steps["training"] else "")},
        {"step": "ε", "value": f"{steps['eps']:g}", "how": "the layer's constant"},
        {"step": "√(σ² + ε)", "value": f"{steps['std']:.6f}", "how": "what x − μ is divided by"},
        {"step": "γ", "value": f"{steps['gamma']:.6f}", "how": "learned scale of this channel"},
        {"step": "β", "value": f"{steps['beta']:.6f}", "how": "learned shift of this channel"},
    ]), hide_index=True, width="stretch")
    first = steps["values"][0].item()
    st.markdown(f"The first value: x = {first:.4f} → x̂ = ({first:.4f} − {steps['mu']:.4f}) / {steps['std']:.4f} = "
                f"**{steps['x_hat'][0].item():.4f}** → y = {steps['gamma']:.4f} × {steps['x_hat'][0].item():.4f} + "
                f"{steps['beta']:.4f} = **{steps['y'][0].item():.4f}**; `nn.{type(bn).__name__}` gives "
                f"**{steps['torch_y'][0].item():.4f}**. Over all {steps['count']:,} values the largest difference "
                f"between the formula and torch is **{steps['largest_difference']:.1e}**.")
    if steps["training"]:
        st.caption(f"After this batch, training mode also moves the running mean to (1 − {steps['momentum']:g}) × "
                   f"{steps['running_mean']:.4f} + {steps['momentum']:g} × {steps['batch_mean']:.4f} = "
                   f"{steps['new_running_mean']:.4f} (torch: {steps['torch_new_running_mean']:.4f}), and the running "
                   f"variance to (1 − {steps['momentum']:g}) × {steps['running_var']:.4f} + {steps['momentum']:g} × "
                   f"{steps['batch_var']:.4f} × {steps['count']:,}/{steps['count'] - 1:,} = "
                   f"{steps['new_running_var']:.4f} (torch: {steps['torch_new_running_var']:.4f}): there σ² is "
                   "divided by N − 1, not N.")
    st.plotly_chart(bn_histograms(steps["values"].numpy(), steps["x_hat"].numpy(), steps["y"].numpy()), width="stretch")

    # Per channel vs per feature: the same batch, pooled to one number per channel as an FC layer would see it.
    features = as_features(arriving)
    fc = nn.BatchNorm1d(features.shape[1]).eval()   # fresh: γ = 1, β = 0
    per_feature = step_by_step(features, fc, channel, training=True)
    st.markdown(
        f"**Per channel or per feature.** A convolution's batch norm pools every position: here **{steps['count']:,}** "
        f"values ({per}) share one μ and one σ². After global average pooling the same batch is a {features.shape[0]} × "
        f"{features.shape[1]} table of features, as a fully connected layer would receive it; `nn.BatchNorm1d` "
        f"normalises each feature over the batch alone: **{per_feature['count']}** values (N) — μ = "
        f"{per_feature['mu']:.4g}, σ² = {per_feature['var']:.4g} for feature {channel}, and the formula again matches "
        f"torch to {per_feature['largest_difference']:.1e}.")
    if batch == 2:
        st.caption("With 2 images, the per-feature statistics rest on two numbers: each x̂ is ±1 (or 0), whatever the "
                   "images were. Batch norm needs batches of more than a few images.")

