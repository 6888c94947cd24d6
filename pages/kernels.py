import numpy as np
import pandas as pd
import streamlit as st
import torch
import torchvision

from models import anatomy, build, data, imagenet, seeded
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
from models.train import with_stem
from ui import catalogue
from ui.controls import range_slider
from ui.projector import teaching
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


def first_conv(net: torch.nn.Module) -> torch.Tensor | None:
    layer = anatomy.first_conv(net)
    return anatomy.weight(net, layer.name) if layer is not None else None


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
    before = catalogue.imagenet_derived("kernels before training",
                                        lambda net, _: first_conv(torchvision.models.resnet18()))
    after = first_conv(catalogue.imagenet_resnet18()[0])
    note = "ImageNet weights from the local torch hub cache; “before” is a fresh torchvision initialisation."
elif source == "mnist":
    entry = catalogue.current_entry("mnist")
    if entry is not None:
        before, after = first_conv(catalogue.load_initial(entry)), first_conv(catalogue.load(entry)[0])
    note = "One input channel: each tile is the kernel's grid of weights (blue negative, red positive)."
else:
    three = catalogue.shipped("resnet20_cifar10.pt")
    entry = three if stem == 3 else catalogue.shipped(f"resnet20_k{stem}_cifar10.pt")
    alike = with_stem(three.label, stem) if three is not None else None   # trains this stem as the 3x3 net was
    if entry is not None:
        before, after = first_conv(catalogue.load_initial(entry)), first_conv(catalogue.load(entry)[0])
        note = ("Each tile shows a kernel's weights on the red, green and blue input channels: grey is 0, "
                "a strong colour a large weight on that channel, with one scale for the whole layer. "
                f"This net ({plain(catalogue.describe(entry))} on the CIFAR-10 test set) was trained "
                f"{plain(entry.trained_on)}.")
        if stem != 3 and three is not None and entry.label != alike:
            note += (f" The 3×3 ResNet-20 was trained with the recipe {plain(three.label)} ({three.epochs} epochs) "
                     f"and this one with {plain(entry.label)} ({entry.epochs} epochs): the two are not trained "
                     "alike, so compare their kernels with care"
                     + (f" (`{alike}` trains this stem alike)." if alike else "."))
    else:
        before = first_conv(seeded(lambda: build("cifar-resnet", depth=20, stem_kernel=stem), 0))
        note = (f"No trained ResNet with a {stem}×{stem} stem is on this machine yet: only its initial kernels "
                f"are shown. Train one with `python -m models.train {alike or f'resnet20-k{stem}'} --out "
                f"checkpoints/resnet20_k{stem}_cifar10.pt`.")
        if alike is not None:
            note += f" The 3×3 ResNet-20, trained with the same recipe, took {plain(three.trained_on)}."
if source == "mnist" and entry is None:
    st.error("There is no MNIST model to show.")
elif before is None:
    st.info(f"The chosen MNIST net ({plain(entry.label, 60)}) has no convolution, so it has no kernels to show: "
            "its first layer is fully connected. Choose a convolutional net in the sidebar.")
else:
    colour = before.shape[1] == 3
    left, right = st.columns(2, gap="large")
    columns = 4 if len(before) <= 16 else 8   # tiles large enough to read the weights
    left.plotly_chart(tile_grid(kernel_tiles(before, colour), "before training", columns=columns, tile_px=110),
                      width="stretch")
    if after is not None:
        right.plotly_chart(tile_grid(kernel_tiles(after, colour), "after training", columns=columns, tile_px=110),
                           width="stretch")
    st.caption(note)

# --- Beyond the first layer: what excites a unit -----------------------------------------------
st.subheader("Deeper units: the patches that excite them most")
st.markdown(
    "A net of small kernels still has deeper units that see larger patches. For the layers of the "
    "chosen MNIST net whose receptive field is closest to 3, 7 and 11 pixels, here are the test-set "
    "patches (cropped to the receptive field) that make one channel fire most, and an input grown by "
    "gradient ascent to make it fire harder — kept smooth and small, so that it stays image-like; "
    "under it, whether it beats the best real digit."
)


def deeper_units() -> None:
    model, metadata = catalogue.require("mnist")
    fields = {f.name: f for f in receptive_fields(model, (1, 28, 28))
              if f.kind == "ReLU" and len(f.out_shape) == 3 and f.field.size != float("inf")}
    if not fields:
        st.info("The chosen MNIST net has no ReLU after a convolution, so no unit looks at a patch: choose a "
                "convolutional net in the sidebar.")
        return
    chosen_layers = {target: min(fields, key=lambda name: (abs(fields[name].field.size - target), name))
                     for target in (3, 7, 11)}
    target = st.radio("Receptive field", list(chosen_layers), horizontal=True, key="kn_rf",
                      format_func=lambda t: f"{chosen_layers[t]}: RF {fields[chosen_layers[t]].field.size:g}"
                                            f"×{fields[chosen_layers[t]].field.size:g} (closest to {t}×{t})")
    layer = chosen_layers[target]
    channel = st.selectbox("Channel", range(fields[layer].out_shape[0]), key=f"kn_channel_{layer}")
    test_set = data.test_images("mnist")

    def strongest(net, metadata, layer: str, channel: int, count: int, images_from: str, k: int = 8):
        """The k test digits whose patch excites the unit most (cropped to its receptive field), and
        the best mean activation among the first `count` (`images_from` names the test images)."""
        images = data.normalise(test_set.images[:count], metadata["mean"], metadata["std"])
        activations = unit_activations(net, layer, images)
        field = fields[layer].field
        tiles = [crop(test_set.images[n, 0].numpy(), field.patch(r, c))
                 for _, n, r, c in top_patches(activations, channel, k)]
        return np.stack(tiles) / 255.0, float(activations[:, channel].mean((1, 2)).max())

    def dream(net, metadata, layer: str, channel: int):
        image, reached = maximise_activation(net, layer, channel, (1, 28, 28))
        return image[0].numpy(), reached

    searched = min(2000, len(test_set))
    with st.spinner("Finding the strongest patches and growing an input (once per net and channel)…"):
        patches, dataset_best = catalogue.derived("mnist", "strongest patches", strongest, layer, channel, searched,
                                                  test_set.source)
        dreamed, reached = catalogue.derived("mnist", "activation maximisation", dream, layer, channel)
    left, right = st.columns([3, 1], gap="large")
    left.plotly_chart(tile_grid(patches, f"The 8 test digits that excite {layer}, channel {channel} most "
                                "(each cropped to the unit's receptive field)", signed=False, tile_px=90,
                                scale_title="pixel"),
                      width="stretch")
    right.plotly_chart(tile_grid(dreamed[None], "activation maximisation", columns=1, tile_px=200,
                                 scale_title="input (normalised)"), width="stretch")
    verdict = "above" if reached > dataset_best else "not above"
    right.caption(f"Its mean activation: {reached:.2f}, {verdict} the best of {searched:,} test digits "
                  f"({dataset_best:.2f}).")
    st.caption(f"Test digits from {test_set.source}.")


deeper_units()

# --- The course's table ---------------------------------------------------------------------------------
def widths_of(depth: int) -> list[int]:
    """The course net's kernel counts, doubling from 32 up to 512."""
    return [min(32 * 2**i, 512) for i in range(depth)]


st.subheader("Receptive fields of the course's 400×400 network")
st.markdown("The course's net, where the settings below start: five 3×3 convolutions with 32, 64, 128, 256 "
            "and 512 kernels on a 400×400 input, max-pooling after the fifth and a 1×1 transition to 32 "
            "channels. The sizes and fields follow from each layer's kernel and stride alone — the same "
            "arithmetic that measures the real nets above (and a test holds the two equal).")
settings = st.columns(3)
side = settings[0].number_input("Input side", 16, 1024, 400, key="kn_side")
depth = settings[1].slider("3×3 layers", 1, 10, 5, key="kn_depth")
pool_at = range_slider("Max-pool after layer", 1, depth, min(5, depth), key="kn_pool", where=settings[2])
st.caption(f"Shown: {depth} 3×3 layer{'s' if depth > 1 else ''} with {', '.join(map(str, widths_of(int(depth))))} "
           f"kernels on a {int(side)}×{int(side)} input, max-pooling after layer {pool_at} and a 1×1 transition "
           "to 32 channels.")


@st.cache_data(max_entries=64)
def table(depth: int, pool_at: int, side: int) -> list[dict] | None:
    widths = widths_of(depth)
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
