import math

import numpy as np
import pandas as pd
import streamlit as st

from models import data, knobs
from models.init_study import channel_statistics, init_net, spreads
from ui.knob_runs import best_and_worst, live, shipped, shipped_caption
from ui.projector import teaching
from viz.knobs import accuracy_bars, loss_curves, pixel_histograms, spread_lines
from viz.kernels import tile_grid

st.title("Inputs and initialisation")
teaching(
    "Before the first step, two choices decide whether a net can learn at all: the scale of what goes "
    "in, and the scale of its starting weights. Inputs are normalised to mean 0 and standard deviation 1 "
    "with constants measured on the training set. Weights start random, with a spread chosen so that "
    "each layer's output is about as spread out as its input: too small and the signal fades layer "
    "after layer, too large and it explodes, all zeros and every unit stays the same as its neighbours. "
    "**What to notice:** the constants are measured, not magic; the spread per layer is flat only for He's "
    "initialisation; symmetric weights stay symmetric however long you train.",
    "Normalise the inputs; start the weights at the right spread (He for ReLU), never all equal.",
)

# --- Normalising the inputs ------------------------------------------------------------------------
st.subheader("Normalising the inputs: where 0.1307 and 0.3081 come from")
dataset = st.radio("Data", ["MNIST", "CIFAR-10"], horizontal=True, key="ii_dataset")
name = "mnist" if dataset == "MNIST" else "cifar10"


@st.cache_data(show_spinner="Measuring every pixel of the training set (once per server)…")
def measured(name: str) -> tuple[list[float], list[float], str]:
    try:
        images = data.load(name, train=True)
    except data.DataError:
        images = data.test_images(name)
    mean, std = channel_statistics(images)
    return mean, std, images.source or name


mean, std, source = measured(name)
constants = data.NORMALISATION[name]
channels = ["grey"] if name == "mnist" else ["red", "green", "blue"]
st.dataframe(pd.DataFrame([{"channel": channel, "mean, measured": round(m, 4), "mean the app uses": c_m,
                            "std, measured": round(s, 4), "std the app uses": c_s}
                           for channel, m, s, c_m, c_s in zip(channels, mean, std, *constants)]),
             hide_index=True, width="stretch")
st.caption(f"Measured on {source}, all pixels of all images, in the units of pixels / 255. The net receives "
           "(pixels / 255 − mean) / std per channel."
           + (" These are JPEG copies of CIFAR-10, so the last digits differ a little from the usual constants."
              if name == "cifar10" and "JPEG" in source else ""))
sample = data.test_images(name).images[:200]
st.plotly_chart(pixel_histograms(sample.numpy(), data.normalise(sample, *constants).numpy()), width="stretch")
st.markdown(
    "**Does it matter?** The same net trained with normalised inputs, with pixels / 255 (0 to 1) and with the raw "
    "pixels (0 to 255). Batch norm after the first convolution rescales whatever arrives, so the input's scale should "
    "matter less with it than without it: compare the two.")
with_bn = st.radio("The net", ["with batch norm", "without batch norm"], horizontal=True, key="ii_bn")
key = "with BN" if with_bn == "with batch norm" else "without BN"


def show_scalings(result: dict, where: str) -> None:
    runs = result["runs"]
    left, right = st.columns(2)
    notes = ["NaN: diverged" if run["why"] == "NaN" else "" for run in runs]
    left.plotly_chart(accuracy_bars([run["label"] for run in runs], [run["test_accuracy"] for run in runs],
                                    f"Test accuracy, {with_bn} ({where})", notes=notes), width="stretch")
    right.plotly_chart(loss_curves(runs, "Training loss"), width="stretch")
    done = [run for run in runs if run["test_accuracy"] is not None]
    if done:
        diverged = [run["label"] for run in runs if run["why"] == "NaN"]
        ranking = best_and_worst(runs, lambda run: run["label"], result["test_images"]) or \
            f"only **{done[0]['label']}** finished ({done[0]['test_accuracy']:.1%})"
        st.markdown(f"In these runs ({with_bn}): {ranking}"
                    + (f"; the loss turned NaN with {', '.join(diverged)}" if diverged else "") + ".")
    elif runs:
        st.markdown("In these runs every scaling diverged.")


stored = shipped("normalisation")
if stored:
    show_scalings(stored["result"][key], "shipped runs")
    result = stored["result"][key]
    st.caption(shipped_caption(stored, f"{result['epochs']} epochs on {result['train_images']:,} training images, "
                                       f"peak lr 0.05, tested on {result['test_images']:,} test images."))
live("ii_norm", "Train the three", f"input scaling, {with_bn}", "normalisation",
     {"batch_norm": key == "with BN"}, lambda result: show_scalings(result, "this run"))

# --- Initialisation ---------------------------------------------------------------------------------
st.subheader("Initialisation: how far the signal spreads, layer by layer")
teaching(
    "Send 256 test digits through the GAP net *without* batch norm (which would hide the effect) right "
    "after initialising its convolutions, and measure the spread (standard deviation) of every layer's "
    "output. He et al. (2015) start each weight at N(0, 2/fan_in) — fan_in = input channels × kernel "
    "height × width — so that ReLU layers keep the spread; Glorot & Bengio's (Xavier) N(0, 2/(fan_in + "
    "fan_out)) was made for tanh and shrinks it under ReLU.",
    "He initialisation keeps the spread flat; too small fades, too large explodes, zeros is dead.",
)


@st.cache_data(show_spinner=False)
def spread_table() -> dict:
    return spreads(data.test_images("mnist"))


found = spread_table()
st.plotly_chart(spread_lines(found), width="stretch")
rows = []
for scheme, spread in found.items():
    layers = spread["layers"]
    first, last = layers[0]["std"], layers[-1]["std"]
    rows.append({"initialisation": scheme, "std after conv1": f"{first:.3g}", "std of the scores (last layer)": f"{last:.3g}",
                 "last ÷ first": f"{last / first:.3g}" if first > 0 else "—",
                 "loss at the start": f"{spread['loss']:.3g}" if spread["loss"] is not None else "overflow",
                 "share of exact zeros after conv6": f"{layers[6]['zero_share']:.0%}"})
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
st.caption(f"A net that guesses evenly among 10 classes starts at loss ln 10 = {math.log(10):.3f}.")
with st.expander("The formulas, per layer of the GAP net"):
    net = init_net("He (Kaiming) normal")
    formula = []
    for layer, module in net.named_modules():
        if hasattr(module, "weight") and module.weight is not None and module.weight.dim() == 4:
            out_channels, in_channels, kh, kw = module.weight.shape
            fan_in, fan_out = in_channels * kh * kw, out_channels * kh * kw
            formula.append({"layer": layer, "weights": tuple(module.weight.shape), "fan_in": fan_in,
                            "He std √(2/fan_in)": round(math.sqrt(2 / fan_in), 4),
                            "measured std of its He weights": round(module.weight.std().item(), 4),
                            "Xavier std √(2/(fan_in+fan_out))": round(math.sqrt(2 / (fan_in + fan_out)), 4)})
    st.dataframe(pd.DataFrame(formula), hide_index=True, width="stretch")

# --- Symmetry ----------------------------------------------------------------------------------------
st.subheader("Why not start from zeros? Symmetry")
teaching(
    "If every kernel of a layer starts equal, every kernel computes the same map, receives the same "
    "gradient and takes the same step: they stay equal for ever, and the layer works like a single "
    "channel. With all zeros it is worse still — every output is zero, so no gradient reaches the "
    "weights at all. Random initialisation breaks the symmetry. (Dropout is off here: its random masks "
    "would break the symmetry by accident.)",
    "Equal kernels get equal gradients and stay equal; zeros never move at all.",
)


SHORT = {"He (Kaiming) normal": "He"}


def show_symmetry(result: dict, where: str) -> None:
    runs = result["runs"]
    table = pd.DataFrame({"layer": [row["layer"] for row in runs[0]["after"]],
                          "kernels": [row["kernels"] for row in runs[0]["after"]]})
    difference = "largest difference between kernels"
    for run in runs:
        table[f"{SHORT.get(run['label'], run['label'])}: before → after"] = [
            f"{before[difference]:.3g} → {after[difference]:.3g}" for before, after in zip(run["before"], run["after"])]
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Largest difference between any two kernels of a layer** (0: all its kernels are the same)")
        st.dataframe(table, hide_index=True, width="stretch")
    with right:
        st.plotly_chart(accuracy_bars([run["label"] for run in runs], [run["test_accuracy"] for run in runs],
                                      f"Test accuracy after training ({where})"), width="stretch")
    kernels = np.concatenate([np.asarray(run["conv1_kernels"]) for run in runs])
    titles = [f"{SHORT.get(run['label'], run['label'])} {i + 1}" for run in runs for i in range(len(run["conv1_kernels"]))]
    st.plotly_chart(tile_grid(kernels, "The 8 first-layer kernels after training, one row per start", columns=8,
                              titles=titles), width="stretch")
    symmetric = [run for run in runs if all(row[difference] == 0 for row in run["after"][:-1])]
    if symmetric:
        text = ("In these runs every layer but the last ended with all its kernels identical when starting from "
                f"**{' and '.join(run['label'] for run in symmetric)}**.")
        last_differs = [run["label"] for run in symmetric if run["after"][-1][difference] > 0]
        last_same = [run["label"] for run in symmetric if run["after"][-1][difference] == 0]
        if last_differs:
            text += (f" The last layer's ten kernels ended different from {' and '.join(last_differs)}: each "
                     "feeds a different class, so their gradients differ.")
        if last_same:
            text += f" From {' and '.join(last_same)} even the last layer's kernels stayed identical."
        st.markdown(text)


stored = shipped("symmetry")
if stored:
    show_symmetry(stored["result"], "shipped runs")
    st.caption(shipped_caption(stored, f"The GAP net with batch norm, no dropout; {stored['result']['epochs']} epoch on "
                                       f"{stored['result']['train_images']:,} training images, peak lr 0.2; "
                                       "“constant” sets every weight to 0.1."))
live("ii_sym", "Train from the three starts", "initialisation: zeros, constant, He", "symmetry", {},
     lambda result: show_symmetry(result, "this run"))
st.caption(f"Live: 1 epoch on {knobs.LIVE_SIZES['symmetry'][0]:,} training images from each start.")
