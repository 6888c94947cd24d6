import math

import numpy as np
import streamlit as st
import torch

from models.checkpoints import CheckpointError
from models.convolution import ConvSettingError
from models.inputs import net_input
from models.probes import class_input_gradient
from models.strides import (
    coverage,
    grid_verdict,
    coverage_1d_stack_closed_form,
    spectrum,
    stride_peak_strength,
    transposed_overlap,
)
from models.lab import load_for_training
from models.train import default_device
from models.upsampler import checkerboard_experiment
from ui import jobs
from ui import catalogue
from ui.inputs import TEST_IMAGE, pick_image
from ui.projector import teaching
from viz.charts import coverage_strip, loss_curves
from viz.convolution import number_grid
from viz.feature_maps import gradient_map, map_grid

st.title("Strides and the checkerboard")
teaching(
    "With stride 1, a 3×3 kernel visits every inner pixel nine times. With a larger stride some "
    "pixels are visited more often than their neighbours — islands of extra attention in a "
    "repeating pattern. On the way *up* (transposed convolutions in decoders, super-resolution "
    "and GANs) the same unevenness paints a visible **checkerboard** (Odena et al., 2016). "
    "**What to notice:** the pattern's period is the stride, and it shows up as sharp peaks in "
    "the picture's spectrum.",
    "Strides leave some pixels seen more often than others: a checkerboard.",
)

# --- Coverage -----------------------------------------------------------------------------------
st.subheader("How often is each input pixel used?")
controls, strip = st.columns([1, 2], gap="large")
with controls:
    kernel = st.slider("Kernel size k", 1, 7, 3, key="sd_kernel")
    stride = st.slider("Stride s", 1, 4, 2, key="sd_stride")
    padding = st.slider("Padding p", 0, 3, 0, key="sd_padding")
    depth = st.slider("Layers stacked (each k, s, p)", 1, 3, 1, key="sd_depth")
    size = st.slider("Input side", 8, 48, 24, key="sd_size")
layers = [(kernel, stride, padding)] * depth
try:
    counts = coverage(size, layers)
except ConvSettingError as error:
    strip.error(f"Nothing to show: {error}. Use a bigger input or fewer layers.")
else:
    closed = coverage_1d_stack_closed_form(size, layers)
    # The measured counts are row count × column count: summed over rows, each column's count
    # times the total of one axis, which is the square root of the grand total.
    along_one_axis = counts.sum(0) // max(math.isqrt(int(counts.sum())), 1)
    strip.plotly_chart(coverage_strip(along_one_axis, closed, "Along one axis: times each pixel is used"),
                       width="stretch")
    if stride > kernel:
        strip.warning(f"The stride ({stride}) is larger than the kernel ({kernel}): the window jumps over "
                      f"{stride - kernel} pixel(s) each step, and those pixels are **never seen** (count 0).")
    elif stride == 1 and counts.max() == kernel ** (2 * depth):
        per_layer = f"k² = {kernel * kernel}" + (f" per layer, multiplied over {depth} layers" if depth > 1 else "")
        strip.info(f"Stride 1: every pixel far enough from the border is used {kernel ** (2 * depth):,} times "
                   f"({per_layer}) — uniform; only the border is used less.")
    left, right = st.columns(2)
    left.plotly_chart(map_grid(counts[None], [0], "Counts over the whole input (measured)", signed=False,
                               columns=1), width="stretch")
    right.markdown(
        "**Measured** by running the layers: with all-ones weights, the gradient of the sum of the "
        "outputs with respect to each input pixel is the number of windows (through a stack: of "
        "paths) that contain it.\n\n**Closed form**: along one axis, pixel *i* is in window *j* when "
        "j·s − p ≤ i ≤ j·s − p + k − 1; the 2-D count is row count × column count, and a stack "
        "multiplies the layers' 0/1 window matrices.\n\n"
        f"The two agree: {'✓' if np.array_equal(counts, np.outer(closed, closed)) else '✗'}. "
        f"Distinct counts here: {sorted(set(np.unique(counts).tolist()))[:12]}"
    )

# --- Transposed convolution ---------------------------------------------------------------------------
st.subheader("Upsampling: transposed convolution vs resize-then-convolve")
up_controls, up_even, up_resize = st.columns([1, 1.2, 1.2], gap="medium")
with up_controls:
    up_kernel = st.slider("Transposed kernel k", 1, 7, 3, key="sd_up_kernel")
    up_stride = st.slider("Transposed stride s", 1, 4, 2, key="sd_up_stride")
overlap = transposed_overlap(6, up_kernel, up_stride)
border = up_kernel - 1            # output rows and columns that fewer copies reach, on each side
inner = overlap[border : overlap.shape[0] - border, border : overlap.shape[1] - border]
inner_counts = sorted(set(np.unique(inner).tolist()))
all_counts = sorted(set(np.unique(overlap).tolist()))
with up_controls:
    if inner.size == 0:
        evenness = "This 6×6 input is too small to have an inside away from the border."
    elif len(inner_counts) == 1:
        evenness = (f"Away from the border every output pixel gets the same {inner_counts[0]} cop"
                    f"{'y' if inner_counts[0] == 1 else 'ies'} (k = {up_kernel} is a multiple of s = {up_stride})"
                    + (f"; near the border fewer reach it: the grid shows {', '.join(map(str, all_counts))}."
                       if len(all_counts) > 1 else "."))
    else:
        evenness = (f"Even away from the border the counts alternate between {', '.join(map(str, inner_counts))} "
                    f"(k = {up_kernel} is **not** a multiple of s = {up_stride}): a checkerboard.")
    st.markdown("Each input pixel stamps a k×k copy of the kernel, s pixels apart. Where copies "
                "overlap, values add up. " + evenness)
up_even.plotly_chart(number_grid(overlap, "Kernel copies per output pixel (all-ones)", decimals=0, height=320),
                     width="stretch")
resized = torch.nn.functional.interpolate(torch.ones(1, 1, 6, 6), scale_factor=up_stride, mode="nearest")
smooth = torch.nn.functional.conv2d(resized, torch.ones(1, 1, up_kernel, up_kernel), padding=up_kernel // 2)
up_resize.plotly_chart(number_grid(smooth[0, 0].numpy(), "Resize ×s, then k×k conv (all-ones)", decimals=0,
                                   height=320), width="stretch")
st.caption("Away from the border, resize-then-convolve gives every pixel the same total: no checkerboard.")

# --- In a real net -------------------------------------------------------------------------------------
st.subheader("The grid inside a trained net")
st.markdown(
    "ResNet-20 halves its feature maps twice with stride-2 convolutions. The gradient of the "
    "predicted class's score with respect to the input pixels passes back through them, so a "
    "period-2 (and period-4) grid can hide in it. We measure it in the spectrum."
)
try:
    loaded = catalogue.current("cifar10")
except CheckpointError as error:
    loaded = None
    st.error(f"The chosen CIFAR-10 model cannot be used: {error}")
picked = pick_image("cifar10", TEST_IMAGE["cifar10"], key="sd_cifar10") if loaded else None
if loaded is None:
    st.info("This part needs a CIFAR-10 ResNet; none is available here.")
elif picked is not None:
    model, metadata = loaded
    image, description = picked
    mean_colour = np.round(np.array(metadata["mean"]) * 255).astype(np.uint8)
    grey = np.broadcast_to(mean_colour, image.shape).copy()
    for name, picture in ((description, image), ("a plain grey image (the dataset's mean colour)", grey)):
        saliency = class_input_gradient(model, net_input(picture, metadata)).numpy()
        left, right = st.columns(2)
        left.plotly_chart(gradient_map(saliency, f"|∂score / ∂pixel| for {name}", height=280), width="stretch")
        right.plotly_chart(gradient_map(np.log1p(spectrum(saliency)), "its spectrum (log magnitude, centred)",
                                        height=280), width="stretch")
        peaks = {period: stride_peak_strength(saliency, period) for period in (2, 4)}
        st.markdown(f"Peak strength at period 2: **{peaks[2]:.1f}**, at period 4: **{peaks[4]:.1f}**: "
                    f"{grid_verdict(peaks)}.")
    st.caption("On a photo, the picture's own edges dominate the gradient and hide the grid; on a plain "
               "input it is easier to measure. In a ResNet the 3×3 convolutions around each stride-2 layer "
               "can smooth much of it away — compare the upsampler experiment below, where a single 3×3 "
               "convolution follows the transposed one.")

# --- Live experiment ------------------------------------------------------------------------------------
st.subheader("Experiment: train two upsamplers")
st.markdown(
    "Both nets learn to rebuild 28×28 MNIST digits from 14×14 ones, with the same layers except "
    "the upsampling step: a stride-2, 3×3 **transposed conv**, or **resize + conv**. We train both "
    "with the same batches and compare what they paint on a blank input — the pattern they add "
    "on their own — before training and after."
)


def run_experiment(steps: int):
    def job(ctx):
        train_set, test_set = load_for_training("mnist", ctx.report)
        return checkerboard_experiment(train_set, test_set, steps, default_device(), ctx.report, ctx.stop)
    return job


def show_results(results: dict) -> None:
    steps = len(next(iter(results.values()))["losses"])
    st.plotly_chart(loss_curves({m: r["losses"] for m, r in results.items()}, "Reconstruction loss"),
                    width="stretch")
    for mode, result in results.items():
        columns = st.columns([2.4, 1, 1, 1])
        columns[0].plotly_chart(map_grid(np.clip(result["digits"], 0, 1), list(range(4)),
                                         f"{mode}: test digits rebuilt", signed=False, limit=1.0), width="stretch")
        columns[1].plotly_chart(gradient_map(result["blank_untrained"], "untrained", height=240, signed=True),
                                width="stretch")
        columns[2].plotly_chart(gradient_map(result["blank"], f"{steps} steps", height=240, signed=True),
                                width="stretch")
        columns[3].plotly_chart(gradient_map(np.log1p(spectrum(result["blank"])), "its spectrum", height=240),
                                width="stretch")
        st.caption(f"{mode}: peak strength at period 2 on the blank input = **{result['peak_untrained']:.1f}** "
                   f"untrained, **{result['peak']:.1f}** after {steps} steps: "
                   f"{grid_verdict({2: result['peak']})}.")


steps = st.select_slider("Training steps", [50, 100, 200, 400], 100, key="sd_steps")
jobs.train_button("sd", "Train both", f"checkerboard upsamplers, {steps} steps", lambda: run_experiment(steps),
                  needs=["mnist"])
if jobs.find("sd") is None:
    st.info(f"Press **Train both** to run {steps} steps for each net; once it runs, the progress bar says "
            "how long is left on this server.")
jobs.follow("sd", show_results, lambda p: f"{p.get('mode', 'starting')}: step {p.get('step', 0)}")
