import numpy as np
import pandas as pd
import streamlit as st
import torch

from models import anatomy, data
from models.inference import class_scores
from models.bn_shift import (
    TWINS,
    history_as_json,
    normalisation_groups,
    normalise_by,
    train_twins,
)
from models.lab import load_for_training
from models.train import default_device, evaluate
from ui import jobs
from ui.bn_formula import show_bn_formula
from ui import catalogue
from ui.projector import teaching
from viz.batch_norm import accuracy_curves, group_map, histograms, percentile_bands

st.title("Batch norm and the shifting distributions")
teaching(
    "Ioffe and Szegedy (2015) argued that while earlier layers learn, the distribution that "
    "each later layer receives keeps moving — the *internal covariate shift* — and that "
    "normalising every layer's input per batch (BatchNorm) steadies it and speeds training up. "
    "**What to notice:** train the same net with and without BN, from the same weights on the "
    "same batches. Watch which one learns faster, and whether the bands of what each net's "
    "nonlinearities receive stay put or drift; the page tells you what this run showed.",
    "Batch norm keeps each layer's inputs centred and scaled while the layers below keep learning.",
)

on_gpu = default_device().type == "cuda"
controls = st.columns(4)
kind = controls[0].selectbox("Twin nets", TWINS, key="bn_kind")
step_options = [200, 500, 1000, 2000, 5000] if on_gpu else [100, 200, 300, 500, 1000]
steps = controls[1].select_slider("Steps", step_options, 500 if on_gpu else 300, key="bn_steps")
lr = controls[2].select_slider("Learning rate (SGD)", [0.005, 0.01, 0.02, 0.05, 0.1, 0.2], 0.02, key="bn_lr")
record_every = controls[3].select_slider("Record every … steps", [5, 10, 20, 50], 20, key="bn_record")
st.caption(("No GPU here: runs are kept short (a few hundred steps). " if not on_gpu else "")
           + "Try 0.02, then raise the rate to 0.05 or more: does the net without BN still keep up with "
           "its twin? The summary under the curves says what each run showed.")


def twin_run(kind, steps, lr, record_every):
    def job(ctx):
        train_set, test_set = load_for_training("mnist", ctx.report)
        return train_twins(kind, train_set, test_set, steps, lr=lr, record_every=record_every,
                           device=default_device(), report=ctx.report, stop=ctx.stop)
    return job


def race_summary(history) -> str:
    """What this run showed, in words computed from its numbers."""
    nets = history.nets
    final = {name: net.test_accuracy[-1] for name, net in nets.items()}
    leader = max(final, key=final.get)
    other = min(final, key=final.get)
    half = len(history.steps) // 2
    early = {name: net.test_accuracy[half] for name, net in nets.items()}
    shifts = {name: [net.shift(layer) for layer in net.layers] for name, net in nets.items()}
    later = slice(len(shifts["with BN"]) // 2, None)
    drift = {name: float(np.mean(values[later])) for name, values in shifts.items()}
    words = (f"**In this run**, after {history.steps[-1]} steps the net {leader} reached "
             f"{final[leader]:.1%} test accuracy and the net {other} {final[other]:.1%}; halfway (step "
             f"{history.steps[half]}) they stood at {early['with BN']:.1%} with BN and {early['without BN']:.1%} "
             "without. ")
    if final["without BN"] < 0.2:
        words += "The net without BN barely learned at this learning rate. "
    calmer = "with BN" if drift["with BN"] < drift["without BN"] else "without BN"
    words += (f"In the later half of the layers the inputs moved {drift['with BN']:.3f} (with BN) vs "
              f"{drift['without BN']:.3f} (without) per snapshot: they drifted less in the net {calmer}.")
    return words


def show_history(history) -> None:
    if history.stopped:
        st.info(f"Stopped after {history.steps[-1]} steps: here is what was recorded until then.")
    nets = history.nets
    st.plotly_chart(accuracy_curves(history.steps, {n: h.test_accuracy for n, h in nets.items()}), width="stretch")
    with_bn, without_bn = nets["with BN"], nets["without BN"]
    count = len(with_bn.layers)
    if not with_bn.percentiles or len(history.steps) < 2:
        st.warning("Too few snapshots to show: let the run go longer or record more often.")
        return
    st.markdown(race_summary(history))
    shifts = pd.DataFrame({
        "layer": [f"{i + 1}" for i in range(count)],
        "with BN": [with_bn.shift(layer) for layer in with_bn.layers],
        "without BN": [without_bn.shift(layer) for layer in without_bn.layers],
    })
    left, right = st.columns([1, 2], gap="large")
    with left:
        st.markdown("**How far each layer's input moved** between snapshots (mean change of its "
                    "15/50/85th percentiles, in units of its first 15–85 spread):")
        st.dataframe(shifts.round(3), hide_index=True, width="stretch")
    with right:
        index = st.selectbox("Nonlinearity", range(count), key="bn_layer",
                             format_func=lambda i: f"{i + 1}: {with_bn.layers[i]} / {without_bn.layers[i]}")
        pair = {"with BN": with_bn.layers[index], "without BN": without_bn.layers[index]}
        st.plotly_chart(percentile_bands(history.steps, {n: np.array(nets[n].percentiles[layer])
                                                         for n, layer in pair.items()},
                                         f"Input of nonlinearity {index + 1}: median and 15–85% band"),
                        width="stretch")
    st.download_button("Save this run (JSON)", history_as_json(history), file_name="bn-twins.json",
                       mime="application/json", icon=":material/download:", key="bn_save")
    moment = st.select_slider("Snapshot (step)", list(range(len(history.steps))), len(history.steps) - 1,
                              format_func=lambda i: str(history.steps[i]), key="bn_moment")
    st.plotly_chart(histograms({n: nets[n].samples[layer][moment].numpy() for n, layer in pair.items()},
                               f"Values entering nonlinearity {index + 1} at step {history.steps[moment]}"),
                    width="stretch")


jobs.train_button("bn", "Train both nets", f"BN twins: {kind}, {steps} steps",
                  lambda: twin_run(kind, steps, lr, record_every), needs=["mnist"])
if jobs.find("bn") is None:
    st.info("Press **Train both nets** to start.")
jobs.follow("bn", show_history, lambda p: f"step {p.get('step', 0)} of {p.get('steps', '…')}")

# --- Train mode vs eval mode ---------------------------------------------------------------------
st.subheader("Train mode and eval mode")
model, metadata = catalogue.require("mnist")
norms = anatomy.batch_norms(model)
if not norms:
    st.info("The chosen MNIST net has no batch norm layer, so it has no train and eval mode to compare. "
            "Choose the course's GAP net in the sidebar.")
test_set = data.test_images("mnist")
sample = data.ImageSet("mnist", test_set.images[:1000], test_set.labels[:1000], test_set.classes,
                       f"the first 1,000 images of {test_set.source}")


def train_and_eval_mode() -> None:
    first = anatomy.module(model, norms[0])
    seen = anatomy.layer_input(model, norms[0], single)[0]            # (C, H, W): one image at the first BN
    image_mean, image_std = seen.mean((1, 2)), seen.std((1, 2), unbiased=False)
    running_mean, running_std = first.running_mean, (first.running_var + first.eps).sqrt()
    channel = int((image_mean - running_mean).abs().argmax())
    label = int(sample.labels[0])
    with torch.no_grad():
        eval_confidence = torch.softmax(class_scores(model, single), 1)[0, label]
        train_confidence = torch.softmax(class_scores(anatomy.batch_norms_in_train_mode(model), single), 1)[0, label]
    st.markdown(
        "In training, BN normalises each channel with the mean and variance of the *current batch*, taken over "
        "every image of the batch and every pixel (N×H×W values per channel); in evaluation it uses running "
        f"averages collected during training. A batch of **one** image still has {seen.shape[1]}×{seen.shape[2]} "
        f"values per channel at the first BN layer ({norms[0]}), so BN does normalise it — but with that image's "
        "own statistics, as InstanceNorm would, not the training set's. "
        f"For this digit, channel {channel} there has mean {image_mean[channel]:.2f} and spread "
        f"{image_std[channel]:.2f} over its pixels, where the running averages say {running_mean[channel]:.2f} "
        f"and {running_std[channel]:.2f}. Every layer after it receives values on another scale than it "
        f"learned: the net's confidence in the right class goes from {eval_confidence:.1%} in eval mode to "
        f"{train_confidence:.1%} with its batch norms in train mode (dropout off in both). With wrong running "
        "averages, eval mode is what suffers instead:")
    shift = st.slider("Spoil the running means: add this to every BN layer's running mean", 0.0, 3.0, 1.0, 0.25,
                      key="bn_spoil")
    spoiled = anatomy.with_running_means_shifted(model, shift)
    columns = st.columns(3)
    columns[0].metric("One image, eval mode: confidence in the right class", f"{eval_confidence:.1%}")
    columns[1].metric("The same image alone, batch norms in train mode", f"{train_confidence:.1%}")
    spoiled_accuracy, accuracy = evaluate(spoiled, sample), evaluate(model, sample)
    columns[2].metric(f"Accuracy, running means + {shift:g}", f"{spoiled_accuracy:.1%}",
                      delta=f"{100 * (spoiled_accuracy - accuracy):+.1f} points",
                      help=f"On the first 1,000 test images; {accuracy:.1%} with the running means as trained.")


single = data.normalise(sample.images[:1], sample.mean, sample.std)
if norms:
    train_and_eval_mode()

# --- The formula, step by step -------------------------------------------------------------------
show_bn_formula()

# --- Which axes ----------------------------------------------------------------------------------
st.subheader("BatchNorm, LayerNorm, InstanceNorm, GroupNorm: what is averaged")
st.markdown(
    "All four subtract a mean and divide by a standard deviation over an (N, C, H, W) tensor; they "
    "differ in *which* values share those statistics. Each grid is a batch of 4 samples × 6 channels; "
    "cells of one colour (with all their H×W pixels) are normalised together."
)
methods = ["BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm"]
figures = st.columns(4)
x = torch.randn(4, 6, 5, 5, generator=torch.Generator().manual_seed(0)) * 3 + 2
check = []
for column, method in zip(figures, methods):
    ids = normalisation_groups(method, 4, 6, groups=2)
    column.plotly_chart(group_map(ids.numpy(), method + (" (2 groups)" if method == "GroupNorm" else "")),
                        width="stretch")
    y = normalise_by(method, x, groups=2)
    means = [y[ids == g].mean().item() for g in ids.unique()]
    stds = [y[ids == g].std(unbiased=False).item() for g in ids.unique()]
    check.append({"method": method, "groups": len(means), "largest |mean| of a group": max(map(abs, means)),
                  "std of each group": f"{min(stds):.4f} … {max(stds):.4f}"})
st.dataframe(pd.DataFrame(check), hide_index=True, width="stretch")
st.caption("The check: a random tensor (mean 2, std 3) normalised each way — every group ends with mean 0 and std 1.")
