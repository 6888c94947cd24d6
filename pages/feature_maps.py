import numpy as np
import pandas as pd
import streamlit as st

from models.inputs import net_input
from models.probes import relu_maps, unit_input_gradient
from models.receptive_field import gradient_spread, receptive_fields
from ui import catalogue
from ui.controls import range_slider
from ui.inputs import input_sources, pick_image
from ui.projector import teaching
from viz.feature_maps import gradient_map, image_with_patch, map_grid, zero_share_chart


def spread_sentence(spread) -> str:
    """What the effective receptive field shows, from its numbers (models.receptive_field)."""
    inside = f"{spread.inside_share:.0%} of it lies inside the patch" + (", none outside" if spread.inside_share > 0.9995 else "")
    if spread.middle_mean == 0 and spread.edge_mean == 0:
        return "here it is zero everywhere: this unit does not change with its input."
    if spread.edge_mean == 0 or spread.middle_mean == 0:
        return inside + f", all of it in the patch's {'middle' if spread.edge_mean == 0 else 'edge'}."
    ratio = spread.middle_mean / spread.edge_mean
    if spread.strongest_in_the_middle:
        return inside + f"; on average a pixel in the patch's middle moves it {ratio:.1f}× as much as one at its edge."
    return inside + f"; here a pixel at the patch's edge moves it more than one in its middle ({1 / ratio:.1f}×)."


CHANNELS_PER_PAGE = 8
RF_KINDS = ("Conv2d", "MaxPool2d", "AvgPool2d", "PadShortcut", "add", "AdaptiveAvgPool2d")

st.title("Feature maps before and after ReLU")
teaching(
    "Each conv layer turns the image into a stack of **feature maps**, one per channel. "
    "ReLU then *filters*: every negative value becomes zero, and the next layer sees only what "
    "passed. **What to notice:** the left maps have blue (negative) regions that are simply "
    "gone on the right; deeper maps are smaller, and each of their pixels sees a larger patch "
    "of the input — its receptive field.",
    "Each channel is one detector; ReLU keeps only its positive evidence.",
)


dataset_names = {"MNIST": "mnist", "CIFAR-10": "cifar10"}
dataset_titles = {name: title for title, name in dataset_names.items()}
net_col, source_col = st.columns([1, 2])
dataset = dataset_names[net_col.radio("Net", list(dataset_names), horizontal=True, key="fm_dataset")]
model, metadata = catalogue.require(dataset)
source = source_col.radio("Input", input_sources(dataset), horizontal=True, key=f"fm_source_{dataset}")
picked = pick_image(dataset, source, key=f"fm_{dataset}")
if picked is None:
    st.stop()
image, description = picked
x = net_input(image, metadata)
layers = [maps for maps in relu_maps(model, x) if maps.pre.dim() == 3]   # feature maps, not flat vectors
if not layers:
    st.info(f"The chosen {dataset_titles[dataset]} net has no ReLU after a convolution, so it makes no feature maps "
            "to show: its layers see the whole image at once. Choose a convolutional net in the sidebar.")
    st.stop()

# --- The maps of one layer -------------------------------------------------------------------
st.subheader("Before and after ReLU")
catalogue.forget_when_the_model_changes(dataset, f"fm_layer_{dataset}")
index = st.selectbox(
    "Layer (each ReLU in forward order)", range(len(layers)), index=0, key=f"fm_layer_{dataset}",
    format_func=lambda i: f"{i + 1}. {layers[i].name} — {'×'.join(map(str, layers[i].pre.shape))}",
)
layer = layers[index]
pre, post = layer.pre.numpy(), layer.post.numpy()
channel_count = pre.shape[0]
pages = -(-channel_count // CHANNELS_PER_PAGE)
page = st.select_slider(
    "Channels", options=list(range(pages)), key=f"fm_page_{dataset}_{index}",
    format_func=lambda p: f"{p * CHANNELS_PER_PAGE}–{min((p + 1) * CHANNELS_PER_PAGE, channel_count) - 1}",
) if pages > 1 else 0
channels = list(range(page * CHANNELS_PER_PAGE, min((page + 1) * CHANNELS_PER_PAGE, channel_count)))
limit = float(np.abs(pre[channels]).max()) or 1.0
before, after = st.columns(2)
before.plotly_chart(map_grid(pre, channels, "before ReLU (blue < 0 < red)", signed=True, limit=limit),
                    width="stretch")
after.plotly_chart(map_grid(post, channels, "after ReLU (negatives are now 0)", signed=False, limit=limit),
                   width="stretch")
st.caption(f"Input: {description}. Colour scales are shared across the channels shown; hover "
           "a pixel for its value.")
st.plotly_chart(zero_share_chart([f"{i + 1}. {m.name}" for i, m in enumerate(layers)],
                                 [m.zero_share for m in layers], highlight=index), width="stretch")

# --- The worked example ------------------------------------------------------------------------
with st.expander("ReLU on a 4×4 map, number by number", expanded=False):
    example = np.array([[-3, 1, 4, -1], [5, -9, 2, 6], [-5, 3, -5, 8], [9, -7, 9, -3]], dtype=float)
    left, right = st.columns(2)
    left.markdown("**A 4×4 feature map**")
    left.dataframe(pd.DataFrame(example).astype(int), hide_index=True)
    right.markdown("**After ReLU: max(0, x)**")
    right.dataframe(pd.DataFrame(np.maximum(example, 0)).astype(int), hide_index=True)
    crop = pre[channels[0], :4, :4]
    left.markdown(f"**Top-left 4×4 of channel {channels[0]} here**")
    left.dataframe(pd.DataFrame(crop).round(2), hide_index=True)
    right.markdown("**… after ReLU**")
    right.dataframe(pd.DataFrame(np.maximum(crop, 0)).round(2), hide_index=True)

# --- Receptive field ---------------------------------------------------------------------------
st.subheader("Where does one pixel of this map look?")
fields = catalogue.derived(dataset, "receptive fields", lambda net, _, shape: receptive_fields(net, shape),
                           tuple(x.shape[1:]))
field = next(f.field for f in fields if f.name == layer.name)
h, w = pre.shape[1:]
row_col, col_col, channel_col = st.columns(3)
row = range_slider("Row in the map", 0, h - 1, h // 2, key=f"fm_row_{dataset}_{index}", where=row_col)
col = range_slider("Column in the map", 0, w - 1, w // 2, key=f"fm_col_{dataset}_{index}", where=col_col)
unit_channel = channel_col.selectbox("Unit", ["all channels"] + list(range(channel_count)),
                                     key=f"fm_unit_{dataset}_{index}")
patch = field.patch(row, col)
size = int(field.size)
theory, effective = st.columns(2)
theory.plotly_chart(image_with_patch(image, patch, f"Theoretical receptive field: {size}×{size} pixels"),
                    width="stretch")
gradient = unit_input_gradient(model, x, layer.name, row, col,
                               None if unit_channel == "all channels" else int(unit_channel))
effective.plotly_chart(gradient_map(gradient.numpy(), "Effective receptive field: |∂unit / ∂input|"),
                       width="stretch")
st.markdown(
    f"Pixel ({row}, {col}) of **{layer.name}** is computed from a **{size}×{size}** patch of the "
    f"input; neighbouring pixels of this map are **{field.jump:g}** input pixel{'s' if field.jump != 1 else ''} "
    "apart (the *jump*). "
    "The gradient on the right shows how much each input pixel actually moves this unit: "
    + spread_sentence(gradient_spread(gradient.numpy(), patch))
)
table = pd.DataFrame([
    {"layer": f.name, "kind": f.kind, "output": "×".join(map(str, f.out_shape)),
     "receptive field": f"{f.field.size:g}×{f.field.size:g}", "jump": f"{f.field.jump:g}"}
    for f in fields if f.kind in RF_KINDS
])
with st.expander("Receptive field and jump after every layer", expanded=False):
    st.dataframe(table, hide_index=True, width="stretch")
