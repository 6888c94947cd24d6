import numpy as np
import pandas as pd
import streamlit as st
import torch
from torch.nn import functional as F

from models import anatomy, data
from models.convolution import (
    KERNEL_PRESETS,
    ConvSettingError,
    conv_parameters,
    convolve,
    fc_parameters,
    output_size,
    unseen_pixels,
    unseen_positions,
    window,
)
from models.inputs import net_input
from ui import catalogue
from ui.controls import range_slider
from ui.inputs import input_sources, pick_image
from ui.links import carried_table, carry_table
from ui.projector import teaching
from ui.text import plain
from viz.convolution import filling_output, number_grid
from viz.feature_maps import image_with_patch

st.title("Convolution, step by step")
teaching(
    "A convolution slides a small grid of weights — the **kernel** — over the image. At each "
    "position it multiplies the pixels under it by the weights, adds the products (and a bias), "
    "and writes that one number into the output map. **What to notice:** the same few weights "
    "are used at every position, so a conv layer keeps the picture's layout with far fewer "
    "parameters than a fully connected layer.",
    "A kernel slides over the image: multiply, add, move on.",
)

model, metadata = catalogue.require("mnist")
net_name = plain(catalogue.current_entry("mnist").label, 60)
first = anatomy.first_conv(model)
# The chosen net's first layer: its learned kernels (one input channel for MNIST).
first_conv = anatomy.weight(model, first.name) if first is not None and first.in_channels == 1 else None

# --- Input and kernel ------------------------------------------------------------------------
source = st.radio("Input", input_sources("mnist"), horizontal=True, key="cv_source")
picked = pick_image("mnist", source, key="cv")
if picked is None:
    st.stop()
image, description = picked

kernel_col, settings_col = st.columns([1, 1], gap="large")
with kernel_col:
    learned = [] if first_conv is None else [f"learned: {first.name}, filter {i}" for i in range(first_conv.shape[0])]
    kernel_names = learned + list(KERNEL_PRESETS) + ["type your own"]
    kernel_name = st.selectbox("Kernel", kernel_names, index=len(learned), key="cv_kernel")
    if first_conv is None:
        st.caption(f"The chosen net ({net_name}) has no convolution on the image itself, so there are no "
                   "learned kernels to try.")
    if kernel_name in learned:
        kernel = first_conv[learned.index(kernel_name), 0].double()
    elif kernel_name == "type your own":
        start, editor_key = carried_table("cv_weights", "cv_typed", np.zeros((3, 3)))
        typed = st.data_editor(pd.DataFrame(start, columns=["0", "1", "2"]), key=editor_key, hide_index=True)
        values = typed.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(values).all():
            st.error("Every kernel weight must be a number; blanks count as 0 here.")
            values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
        carry_table("cv_weights", values, np.zeros((3, 3)))
        kernel = torch.tensor(values)
    else:
        kernel = torch.tensor(KERNEL_PRESETS[kernel_name], dtype=torch.float64)
    bias = st.number_input("Bias", -5.0, 5.0, 0.0, 0.1, key="cv_bias")
with settings_col:
    crop = st.slider("Input side N (the central N×N of the image; small is easier to follow)", 2, 28, 28,
                     key="cv_crop")
    padding = st.slider("Padding P (zeros around the image)", 0, 3, 0, key="cv_padding")
    stride = st.slider("Stride S (step between positions)", 1, 4, 1, key="cv_stride")
    dilation = st.slider("Dilation D (gaps inside the kernel)", 1, 3, 1, key="cv_dilation")

start = (image.shape[0] - crop) // 2
shown_input = image[start : start + crop, start : start + crop]   # the net below still sees the whole image
pixels = torch.from_numpy(shown_input).double()[None] / 255       # (1, N, N), values 0..1
k = kernel.shape[-1]
size = crop
try:
    out_size = output_size(size, k, stride, padding, dilation)
except ConvSettingError as error:
    st.error(f"This setting cannot work: {error}. Lower the dilation, add padding or show more of the input.")
    st.stop()
torch_size = F.conv2d(pixels[None], kernel[None, None], stride=stride, padding=padding,
                      dilation=dilation).shape[-1]
st.markdown(
    f"Output side = ⌊(N + 2P − D·(F − 1) − 1) / S⌋ + 1 = ⌊({size} + 2·{padding} − {dilation}·({k} − 1) − 1) "
    f"/ {stride}⌋ + 1 = **{out_size}**; `F.conv2d` gives **{torch_size}** "
    + ("✓" if torch_size == out_size else "✗")
)
never_seen = unseen_pixels(size, k, stride, padding, dilation)
if never_seen:
    rows_missed = unseen_positions(size, k, stride, padding, dilation)
    shown = ", ".join(map(str, rows_missed[:8])) + (", …" if len(rows_missed) > 8 else "")
    st.warning(f"{never_seen:,} of the {size * size:,} input pixels are never seen by any window position: every "
               f"pixel in row or column {shown}. The output knows nothing about them.")

# --- The window at one position -----------------------------------------------------------------
output = convolve(pixels, kernel[None, None], torch.tensor([bias], dtype=torch.float64),
                  stride, padding, dilation)[0]
positions = out_size * out_size
strongest = int(output.abs().argmax()) + 1   # start where the kernel responds most
step = range_slider("Position of the window (steps, row by row)", 1, positions, strongest,
                    key=f"cv_step_{out_size}_{kernel_name}")
row, col = divmod(step - 1, out_size)
current = window(pixels, kernel[None], bias, row, col, stride, padding, dilation)
top, left = row * stride - padding, col * stride - padding
span = dilation * (k - 1)
cells = st.columns([1.2, 1, 1, 1, 1.3])
cells[0].plotly_chart(image_with_patch(shown_input, (top, left, top + span, left + span), "Input", height=260),
                      width="stretch")
cells[1].plotly_chart(number_grid(current.patch[0].numpy(), "pixels under it"), width="stretch")
cells[2].plotly_chart(number_grid(kernel.numpy(), "× kernel"), width="stretch")
cells[3].plotly_chart(number_grid(current.products[0].numpy(), "= products"), width="stretch")
cells[4].plotly_chart(filling_output(output.numpy(), step, f"Output map {out_size}×{out_size}", height=260),
                      width="stretch")
st.markdown(
    f"Output ({row}, {col}): the {k * k} products add up to **{current.channel_sums[0]:.3f}**; plus the "
    f"bias {bias:g} gives **{current.total:.3f}**. Input: {description} (pixels scaled to 0…1)."
)

# --- Many channels in, many channels out --------------------------------------------------------
st.subheader("Colour images: a 3×3×3 kernel per output channel")
st.markdown(
    "A colour image has three channels, so each kernel is 3×3×**3**: one 3×3 slice per input "
    "channel. The output at a position is the sum over *all* channels of all products. Four such "
    "kernels (a 3×3×3×4 weight tensor) give four output channels."
)
cifar = data.test_images("cifar10")
mc_left, mc_right = st.columns([1, 2], gap="large")
with mc_left:
    index = st.number_input("CIFAR-10 test image", 0, len(cifar) - 1, 7, key="cv_cifar_index")
    colour = cifar.images[int(index)].double() / 255           # (3, 32, 32)
    weights = torch.randn(4, 3, 3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out_channel = st.selectbox("Output channel (one of the 4 kernels)", range(4), key="cv_out_channel")
    mc_row = st.slider("Row", 0, 29, 12, key="cv_mc_row")
    mc_col = st.slider("Column", 0, 29, 12, key="cv_mc_col")
    st.image(cifar.images[int(index)].permute(1, 2, 0).numpy(), width=160,
             caption=f"labelled {cifar.classes[int(cifar.labels[int(index)])]}, from {cifar.source}")
spot = window(colour, weights[out_channel], 0.0, mc_row, mc_col)
with mc_right:
    channel_cols = st.columns(3)
    for channel, name in enumerate(("red", "green", "blue")):
        channel_cols[channel].plotly_chart(
            number_grid(spot.products[channel].numpy(), f"{name}: products, sum {spot.channel_sums[channel]:.3f}"),
            width="stretch")
    torch_value = F.conv2d(colour[None], weights)[0, out_channel, mc_row, mc_col].item()
    st.markdown(
        " + ".join(f"{s:.3f}" for s in spot.channel_sums.tolist())
        + f" = **{spot.total:.3f}** (output channel {out_channel} at ({mc_row}, {mc_col}); "
        f"`F.conv2d` gives {torch_value:.3f})"
    )
    st.caption("These 4 kernels are random (seeded): the point is the arithmetic.")

# --- 1x1 convolution -----------------------------------------------------------------------------
st.subheader("1×1 convolution: a weighted sum of channels")
st.markdown(
    "A 1×1 kernel looks at one pixel, but through *all* channels: each output channel is a "
    "weighted sum of the input channels at the same pixel. The course's GAP net uses one after its "
    "max-pooling to squeeze 16 channels into 8, and another at the end to turn 16 channels into ten "
    "class maps."
)
def show_channel_mix(mix: anatomy.ConvLayer) -> None:
    """One output pixel of a 1x1 convolution as its sum of products, beside the layer's own answer."""
    layer = anatomy.module(model, mix.name)
    inputs = anatomy.layer_input(model, mix.name, net_input(image, metadata))[0].double()
    weights = layer.weight.detach()[:, :, 0, 0].double()                    # (out, in)
    bias = layer.bias.detach().double() if layer.bias is not None else torch.zeros(mix.out_channels, dtype=torch.float64)
    channels, rows, cols = inputs.shape
    st.caption(f"Here: layer {mix.name} of the chosen net ({net_name}), {mix.in_channels} channels in, "
               f"{mix.out_channels} out, on your input.")
    left, right = st.columns([1, 2], gap="large")
    with left:
        out_channel = st.selectbox("Output channel", range(mix.out_channels), key="cv_mix_channel")
        row = range_slider("Pixel row", 0, rows - 1, min(6, rows - 1), key="cv_mix_row")
        col = range_slider("Pixel column", 0, cols - 1, min(6, cols - 1), key="cv_mix_col")
    with right:
        values = inputs[:, row, col]
        terms = weights[out_channel] * values
        st.dataframe(pd.DataFrame({
            "input channel": range(channels), "value at the pixel": values.numpy().round(3),
            "1×1 weight": weights[out_channel].numpy().round(3), "product": terms.numpy().round(3),
        }), hide_index=True, height=240, width="stretch")
        real = layer(inputs[None].float())[0, out_channel, row, col].item()
        with_bias = f" + bias {bias[out_channel]:.3f}" if layer.bias is not None else ""
        st.markdown(f"Sum of the {channels} products{with_bias} = **{terms.sum() + bias[out_channel]:.3f}** — the "
                    f"layer itself computes {real:.3f}. {channels} channels × {rows}×{cols} in, "
                    f"{mix.out_channels} channels × {rows}×{cols} out, with only {channels} × {mix.out_channels} = "
                    f"{channels * mix.out_channels:,} weights.")


mixes = anatomy.channel_mixes(model)
if mixes:
    show_channel_mix(mixes[0])
else:
    st.info(f"The chosen net ({net_name}) has no 1×1 convolution. Choose the course's GAP net in the sidebar "
            "to see one at work.")

# --- Parameters ------------------------------------------------------------------------------------
st.subheader("How many parameters?")
p_left, p_right = st.columns(2, gap="large")
with p_left:
    c_in = st.number_input("Input channels", 1, 1024, 3, key="cv_c_in")
    c_out = st.number_input("Output channels (filters)", 1, 1024, 10, key="cv_c_out")
    f_size = st.number_input("Kernel size F", 1, 11, 5, key="cv_f")
    n_size = st.number_input("Input side N", 1, 512, 32, key="cv_n")
    with_bias = st.checkbox("With biases", True, key="cv_bias_on")
with p_right:
    weights_count, biases_count = conv_parameters(int(c_in), int(c_out), int(f_size), with_bias)
    st.markdown(f"**Conv layer:** F·F·C_in weights per filter, one bias each: "
                f"({f_size}·{f_size}·{c_in}{' + 1' if with_bias else ''}) × {c_out} = "
                f"**{weights_count + biases_count:,}** parameters")
    try:
        side = output_size(int(n_size), int(f_size))
    except ConvSettingError as error:
        st.error(f"No output: {error}")
    else:
        fc_weights, fc_biases = fc_parameters(int(n_size * n_size * c_in), int(side * side * c_out), with_bias)
        st.markdown(
            f"**A fully connected layer** joining the same {n_size}×{n_size}×{c_in} input to the same "
            f"{side}×{side}×{c_out} output needs {n_size * n_size * c_in:,} × {side * side * c_out:,}"
            f"{' + biases' if with_bias else ''} = **{fc_weights + fc_biases:,}** parameters — "
            f"**{(fc_weights + fc_biases) / (weights_count + biases_count):,.0f}×** as many, and it "
            "forgets which pixel was next to which."
        )
