import numpy as np
import pandas as pd
import streamlit as st
import torch

from models import imagenet
from models.checkpoints import CheckpointError
from models.gradcam import (
    gradcam, gradcam_layers, gradcams, guided_gradcam, map_layers, randomized_copy, rank_correlation,
)
from models.inference import predict
from models.inputs import net_input
from ui import catalogue
from ui.inputs import input_sources, pick_image
from ui.projector import teaching
from viz.gradcam import as_rgb, overlay, picture_row

LAYERS_IN_ROW = 5
SAME_MAP = 0.5    # rank correlation from which the trained and the scrambled net's maps count as alike

st.title("Grad-CAM: where does the net look?")
teaching(
    "Grad-CAM takes the feature maps of one layer, weights each channel by how much the class "
    "score rises when that channel rises (its average gradient), adds them up and keeps the "
    "positive part. **What to notice:** the last layer gives a coarse map of *where the "
    "evidence for a class is*; early layers are sharp but mostly find edges. Ask for another "
    "class and the map moves; scramble the weights and the map stops making sense.",
    "Grad-CAM: the evidence for a class, laid over the image.",
)


dataset_names = {"CIFAR-10": "cifar10", "MNIST": "mnist"}
if imagenet.available():
    dataset_names["ImageNet ResNet-18"] = "imagenet"
net_col, source_col = st.columns([1, 2])
dataset = dataset_names[net_col.radio("Net", list(dataset_names), horizontal=True, key="gc_dataset")]
if not imagenet.available():
    net_col.caption("A ResNet-18 trained on ImageNet (it knows 1,000 kinds of things in any photo) would appear "
                    "here once your teacher adds its weights to this machine; the README says how.")
if dataset == "imagenet":
    try:
        model, metadata = catalogue.imagenet_resnet18()
    except CheckpointError as error:
        st.error(f"The ImageNet weights on this machine cannot be used: {error}")
        st.stop()
else:
    model, metadata = catalogue.require(dataset)
classes = metadata["classes"]
source = source_col.radio("Input", input_sources(dataset), horizontal=True, key=f"gc_source_{dataset}")
picked = pick_image(dataset, source, key=f"gc_{dataset}")
if picked is None:
    st.stop()
image, description = picked
x = net_input(image, metadata)
prediction = predict(model, x)

layers = (gradcam_layers(model) if dataset == "imagenet" else   # torchvision's four stages
          catalogue.derived(dataset, "grad-cam layers", lambda net, _, shape: map_layers(net, shape), tuple(x.shape[1:])))
if not layers:
    st.info("The chosen net has no layer that keeps a picture of the input (a ReLU after a convolution): "
            "with only fully connected layers there is no “where” for Grad-CAM to show. Choose a "
            "convolutional net in the sidebar.")
    st.stop()
layer_col, target_col, opacity_col = st.columns(3)
catalogue.forget_when_the_model_changes(dataset, f"gc_layer_{dataset}")
layer = layer_col.selectbox("Layer", layers, index=len(layers) - 1, key=f"gc_layer_{dataset}",
                            help="The output of this ReLU is what Grad-CAM weighs. Default: the last one.")
target = target_col.selectbox(
    "Class to explain", range(len(classes)), index=prediction.top, key=f"gc_target_{dataset}_{description}",
    format_func=lambda c: f"{classes[c]} ({prediction.probabilities[c]:.1%})"
    + (" — predicted" if c == prediction.top else ""),
)
opacity = opacity_col.slider("Heatmap opacity", 0.0, 1.0, 0.5, 0.05, key="gc_opacity")

chosen = np.linspace(0, len(layers) - 1, min(LAYERS_IN_ROW, len(layers))).round().astype(int)
row_layers = [layers[i] for i in dict.fromkeys(chosen)]
top_three = prediction.top_k(3)
# Every map on the page from one forward pass and one backward pass per class.
cams = gradcams(model, x, [layer, *row_layers], [target, *top_three])
cam = cams[(layer, target)]


def heatmap(at_layer: str, for_class: int) -> np.ndarray:
    return cams[(at_layer, for_class)].heatmap.numpy()


heat = heatmap(layer, target)
guided = guided_gradcam(model, x, layer, target).numpy()
st.plotly_chart(picture_row(
    [as_rgb(image), heat, overlay(image, heat, opacity), guided],
    ["input", f"Grad-CAM for “{classes[target]}”", "overlay", "Guided Grad-CAM"],
    height=300,
), width="stretch")
if heat.max() == 0:
    st.info(f"No positive evidence for “{classes[target]}” at {layer}: every weighted channel "
            "points against it, so the map is empty.")
st.caption(f"Input: {description}. Layer {layer}: {tuple(cam.coarse.shape)} map, upsampled to the "
           "input. Guided Grad-CAM multiplies the map by the gradient that guided backpropagation "
           "brings back to each pixel: sharper, but it mostly shows edges.")

predictions, explanation = st.columns([1, 2])
with predictions:
    st.markdown("**Top-5 predictions**")
    st.dataframe(pd.DataFrame({
        "class": [classes[c] for c in prediction.top_k(5)],
        "softmax": [f"{prediction.probabilities[c]:.2%}" for c in prediction.top_k(5)],
    }), hide_index=True, width="stretch")
with explanation:
    st.plotly_chart(picture_row(
        [heatmap(name, target) for name in row_layers], row_layers, height=220,
    ), width="stretch")
    st.caption(f"The same class, “{classes[target]}”, explained at layers from first to last.")

st.subheader("Different classes, different evidence")
st.plotly_chart(picture_row(
    [overlay(image, heatmap(layer, c), opacity) for c in top_three],
    [f"{classes[c]} ({prediction.probabilities[c]:.1%})" for c in top_three], height=260,
), width="stretch")

st.subheader("Sanity check: does the map depend on what the net learned?")
random_net = (catalogue.imagenet_derived("scrambled", lambda net, _: randomized_copy(net)) if dataset == "imagenet"
              else catalogue.derived(dataset, "scrambled", lambda net, _: randomized_copy(net)))
trained_map = heat
random_map = gradcam(random_net, x, layer, target).heatmap.numpy()
st.plotly_chart(picture_row(
    [overlay(image, trained_map, opacity), overlay(image, random_map, opacity)],
    ["trained net", "same net, weights re-initialised"], height=260,
), width="stretch")
alike = rank_correlation(torch.from_numpy(trained_map), torch.from_numpy(random_map))
if alike < SAME_MAP:
    verdict = (f"Here the two maps differ (rank correlation {alike:.2f}, where 1 would mean the same order of "
               "pixels): the map depends on what the net learned, so the check passes.")
else:
    verdict = (f"Here the two maps are alike (rank correlation {alike:.2f}, where 1 would mean the same order of "
               "pixels): at this layer the map follows the picture itself more than what the net learned, so the "
               "check fails — do not read much into this map. Try a later layer or another image.")
st.caption("Adebayo et al. (2018): an explanation that looks the same for a net with random "
           f"weights explains the image, not the net. {verdict}")
