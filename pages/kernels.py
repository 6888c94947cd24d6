import numpy as np
import pandas as pd
import streamlit as st
import torch
import torchvision

from models import build, data, imagenet
from models.convolution import ConvSettingError
from models.kernels import (
    course_table,
    crop,
    kernel_tiles,
    maximise_activation,
    top_patches,
    unit_activations,
)
from models.receptive_field import receptive_fields
from ui import models as ui_models
from ui.presenter import teaching
from ui.text import plain
from viz.kernels import tile_grid

st.title("Kernels: 3×3, 7×7, 11×11")
teaching(
    "A 3×3 kernel has only nine weights: too few to draw a pattern a person can read. At 7×7 "
    "something starts to show; around 11×11 you see edges, colour blobs and textures. Stacked "
    "3×3 layers reach the same receptive fields with fewer weights — but then what a unit "
    "responds to is no longer one kernel, so we look at the input patches that excite it most. "
    "**What to notice:** before training the kernels are noise; after training they are not.",
    "What first-layer kernels learn, at 3×3, 7×7 and 11×11.",
)


def first_conv(net: torch.nn.Module) -> torch.Tensor:
    return next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d)).weight


# --- First-layer kernels, before and after training -------------------------------------------
st.subheader("First-layer kernels before and after training")
STEMS = {"3×3 · ResNet-20 (CIFAR-10)": ("cifar10", 3), "3×3 · GAP MNIST net": ("mnist", 3),
         "7×7 · ResNet-20, 7×7 stem": ("cifar10", 7), "11×11 · ResNet-20, 11×11 stem": ("cifar10", 11)}
if imagenet.available():
    STEMS["7×7 · ResNet-18 (ImageNet)"] = ("imagenet", 7)
choice = st.radio("Kernel size", list(STEMS), horizontal=True, key="kn_stem")
source, stem = STEMS[choice]
after, entry = None, None
if source == "imagenet":
    before = first_conv(torchvision.models.resnet18())
    after = first_conv(imagenet.load_resnet18()[0])
    note = "ImageNet weights from the local torch hub cache; “before” is a fresh torchvision initialisation."
elif source == "mnist":
    entry = ui_models.current_entry("mnist")
    if entry is not None:
        before, after = first_conv(ui_models.load_initial(entry)), first_conv(ui_models.load(entry)[0])
    note = "One input channel: each tile is a 3×3 grid of weights (blue negative, red positive)."
else:
    entry = ui_models.find("resnet20" if stem == 3 else f"resnet20-k{stem}")
    if entry is not None:
        before, after = first_conv(ui_models.load_initial(entry)), first_conv(ui_models.load(entry)[0])
        note = ("Each tile shows a kernel's weights on the red, green and blue input channels, one scale per layer. "
                f"This net ({plain(ui_models.describe(entry))} on the CIFAR-10 test set) was trained "
                f"{plain(entry.trained_on)}.")
    else:
        torch.manual_seed(0)
        before = first_conv(build("cifar-resnet", depth=20, stem_kernel=stem))
        note = (f"No trained ResNet with a {stem}×{stem} stem is on this machine yet: only its initial kernels "
                f"are shown. Train one with `python -m models.train resnet20-k{stem} --out "
                f"checkpoints/resnet20_k{stem}_cifar10.pt` (a few minutes on a GPU).")
if source == "mnist" and entry is None:
    st.error("There is no MNIST model to show.")
else:
    colour = before.shape[1] == 3
    left, right = st.columns(2, gap="large")
    left.plotly_chart(tile_grid(kernel_tiles(before, colour), "before training"), width="stretch")
    if after is not None:
        right.plotly_chart(tile_grid(kernel_tiles(after, colour), "after training"), width="stretch")
    st.caption(note)

# --- Beyond the first layer: what excites a unit -----------------------------------------------
st.subheader("Deeper units: the patches that excite them most")
st.markdown(
    "The GAP MNIST net only has 3×3 kernels, yet its deeper units see larger patches. For the "
    "layers whose receptive field is closest to 3, 7 and 11 pixels, here are the test-set patches "
    "(cropped to the receptive field) that make one channel fire most, and an input built by "
    "gradient ascent to make it fire as much as it can."
)
model, metadata = ui_models.require("mnist")
fields = {f.name: f for f in receptive_fields(model, (1, 28, 28)) if f.kind == "ReLU"}
chosen_layers = {target: min(fields, key=lambda name: (abs(fields[name].field.size - target), name))
                 for target in (3, 7, 11)}
target = st.radio("Receptive field", list(chosen_layers), horizontal=True, key="kn_rf",
                  format_func=lambda t: f"≈{t}×{t}: {chosen_layers[t]} "
                                        f"(RF {fields[chosen_layers[t]].field.size:g}×{fields[chosen_layers[t]].field.size:g})")
layer = chosen_layers[target]
channels = fields[layer].out_shape[0]
channel = st.selectbox("Channel", range(channels), key=f"kn_channel_{layer}")
test_set = data.test_images("mnist")


@st.cache_data(show_spinner="Finding the strongest patches…", max_entries=16)
def strongest(_model, model_key: int, layer: str, channel: int, count: int, k: int = 8):
    images = data.normalise(test_set.images[:count], metadata["mean"], metadata["std"])
    activations = unit_activations(_model, layer, images)
    field = fields[layer].field
    tiles = [crop(test_set.images[n, 0].numpy(), field.patch(r, c)) for _, n, r, c in top_patches(activations, channel, k)]
    best = float(activations[:, channel].mean((1, 2)).max())
    return np.stack(tiles) / 255.0, best


@st.cache_data(show_spinner="Gradient ascent…", max_entries=32)
def dream(_model, model_key: int, layer: str, channel: int):
    image, reached = maximise_activation(_model, layer, channel, (1, 28, 28))
    return image[0].numpy(), reached


searched = min(2000, len(test_set))
patches, dataset_best = strongest(model, id(model), layer, channel, searched)
dreamed, reached = dream(model, id(model), layer, channel)
left, right = st.columns([3, 1], gap="large")
left.plotly_chart(tile_grid(patches, f"The 8 test digits that excite {layer}, channel {channel} most "
                            "(each cropped to the unit's receptive field)", signed=False, tile_px=90), width="stretch")
right.plotly_chart(tile_grid(dreamed[None], "activation maximisation", columns=1, tile_px=200), width="stretch")
verdict = ("above" if reached > dataset_best else "not above")
right.caption(f"Its mean activation: {reached:.2f}, {verdict} the best of {searched:,} test digits ({dataset_best:.2f}).")
st.caption(f"Test digits from {test_set.source}.")

# --- The course's table ---------------------------------------------------------------------------------
st.subheader("Receptive fields of the course's 400×400 network")
st.markdown("3×3 convolutions with 32, 64, 128, 256, 512 kernels, then max-pooling and a 1×1 transition. "
            "The sizes and fields follow from each layer's kernel and stride alone — the same arithmetic "
            "that measures the real nets above (and a test holds the two equal).")
settings = st.columns(3)
side = settings[0].number_input("Input side", 16, 1024, 400, key="kn_side")
depth = settings[1].slider("3×3 layers", 1, 10, 5, key="kn_depth")
pool_at = settings[2].slider("Max-pool after layer", 1, depth, min(5, depth), key="kn_pool")


@st.cache_data(max_entries=64)
def table(depth: int, pool_at: int, side: int) -> list[dict] | None:
    widths = [min(32 * 2**i, 512) for i in range(depth)]
    try:
        return course_table(widths, (pool_at,), side)
    except ConvSettingError:
        return None


rows = table(int(depth), int(pool_at), int(side))
if rows is None:
    st.error(f"A {side}×{side} input is too small for {depth} unpadded 3×3 layers and a pooling: the "
             "feature map shrinks to nothing. Use a larger input or fewer layers.")
else:
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    pool = next((i for i, row in enumerate(rows) if row["kind"] == "MaxPool2d"), None)
    if pool is not None:
        before, at = rows[pool - 1], rows[pool]
        after = rows[pool + 2] if pool + 2 < len(rows) else None
        doubled = at["course notes' rule"]
        st.markdown(
            f"**Two ways to count.** The course notes double the field at the pooling ({before['receptive field']} → "
            f"{doubled}) and then add 2 per 3×3. The arithmetic above adds one step at the pooling "
            f"({before['receptive field']} → {at['receptive field']}), but from there on neighbouring units are "
            f"{at['jump']} pixels apart, so every 3×3 adds {2 * at['jump']} pixels"
            + (f" ({at['receptive field']} → {after['receptive field']})" if after else "")
            + ". The notes' numbers jump at each pooling; the arithmetic grows faster after it. Both describe "
            "the same idea — pooling makes every later layer see much more — and the arithmetic is the one a "
            "gradient measures (Feature maps page).")
