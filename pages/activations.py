import numpy as np
import pandas as pd
import streamlit as st
import torch

from models import knobs
from models.gap_mnist import ACTIVATIONS
from ui import catalogue
from ui.knob_runs import best_and_worst, live, shipped, shipped_caption
from ui.projector import teaching
from ui.text import plain
from viz.kernels import tile_grid
from viz.knobs import accuracy_bars, function_panels

st.title("Activation functions")
teaching(
    "Stack convolutions without anything between them and the stack is still one linear map — a "
    "hundred layers buy nothing that one layer could not do. The non-linearity after each layer is what "
    "lets a net bend its decision boundaries. Which one matters too: back-propagation multiplies by its "
    "derivative at every layer, so a derivative that is small (sigmoid: at most 0.25) shrinks the gradient "
    "layer after layer, and one that is zero (ReLU for negative inputs) stops it. **What to notice:** the "
    "derivatives; the same net trained with each function; and the net with none at all, which is exactly "
    "a linear classifier.",
    "No non-linearity: the whole net is one linear map. The derivative decides how gradients flow.",
)

FORMULAS = {"relu": "max(0, x)", "leaky_relu": "max(0.01x, x)", "prelu": "max(ax, x), a learned",
            "elu": "x if x > 0, else eˣ − 1", "swish": "x · sigmoid(x)", "sigmoid": "1 / (1 + e⁻ˣ)",
            "tanh": "(eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)", "none": "x"}

x = torch.linspace(-4, 4, 321)
curves = {knobs.ACTIVATION_TITLES[name]: tuple(v.numpy() for v in knobs.function_and_derivative(name, x))
          for name in ACTIVATIONS}
st.plotly_chart(function_panels(x.numpy(), curves), width="stretch")
points = torch.tensor([-3.0, 0.0, 3.0])
rows = []
for name in ACTIVATIONS:
    _, slope = knobs.function_and_derivative(name, points)
    rows.append({"function": knobs.ACTIVATION_TITLES[name], "f(x)": FORMULAS[name],
                 "largest f′ on [−4, 4]": round(float(curves[knobs.ACTIVATION_TITLES[name]][1].max()), 3),
                 "f′(−3)": round(slope[0].item(), 3), "f′(0)": round(slope[1].item(), 3), "f′(3)": round(slope[2].item(), 3)})
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
st.caption("The derivatives come from torch's own modules through autograd (at 0, ReLU's is taken as 0). Ten sigmoid "
           f"layers multiply a gradient by at most 0.25¹⁰ = {0.25 ** 10:.1e}.")

# --- Swapped into the GAP net -------------------------------------------------------------------------
st.subheader("The GAP net with each one")
teaching(
    "The same net (same initial weights, same batches, batch norm in every block) with the ReLUs replaced. "
    "“none” removes them and also averages instead of max-pooling (max-pooling is itself a non-linearity).",
    "Same net, same batches, only the activation changes.",
)


def show_sweep(result: dict, where: str) -> None:
    runs = result["runs"]
    labels = [run["label"] for run in runs]
    accuracies = [run["test_accuracy"] for run in runs]
    st.plotly_chart(accuracy_bars(labels, accuracies, f"Test accuracy after {result['epochs']} epoch(s) on "
                                                      f"{result['train_images']:,} images ({where})",
                                  highlight=[knobs.ACTIVATION_TITLES["none"]]), width="stretch")
    if ranking := best_and_worst(runs, lambda run: run["label"], result["test_images"]):
        st.markdown(f"In these runs {ranking}.")
    linear = next((run for run in runs if run.get("linear")), None)
    relu = next((run for run in runs if run.get("activation") == "relu"), None)
    if linear is None:
        return
    summary = linear["linear"]
    st.markdown("**The net without a non-linearity is a linear classifier.** In evaluation mode every one of its "
                "layers is linear (convolution, batch norm with its running statistics, average pooling), so the whole "
                "net is one map *scores = W·x + b*. Reading W and b off the trained net (the scores of a black image "
                "give b, the scores of each one-pixel image minus b give a column of W):")
    metrics = st.columns(4)
    metrics[0].metric("Parameters of the net", f"{summary['parameters_of_the_net']:,}")
    metrics[1].metric("Numbers in W and b", f"{summary['parameters_of_the_classifier']:,}", help="784 × 10 + 10")
    metrics[2].metric("W·x + b agrees with the net", f"{summary['agreement']:.2%}",
                      help="Share of the test images where W·x + b predicts the class the net predicts")
    metrics[3].metric("Accuracy of W·x + b", f"{summary['accuracy']:.1%}",
                      delta=f"{100 * (summary['accuracy'] - relu['test_accuracy']):+.1f} points vs ReLU"
                      if relu and relu["test_accuracy"] is not None else None,
                      help="Its test accuracy; the delta compares it with the ReLU net of the same runs")
    templates = np.asarray(summary["weights"])
    st.plotly_chart(tile_grid(templates, "W as ten 28×28 templates: the score of a class is the sum of the pixels "
                                         "weighted by its template (red +, blue −)", columns=10,
                              titles=[f"class {c}" for c in range(len(templates))], tile_px=90), width="stretch")


stored = shipped("activations")
if stored:
    show_sweep(stored["result"], "shipped runs")
    st.caption(shipped_caption(stored, f"Peak lr 0.2, batch 32, tested on {stored['result']['test_images']:,} test "
                                       "images."))
model, metadata = catalogue.require("mnist")
if metadata.get("test_accuracy"):
    st.caption(f"For scale: the MNIST model chosen in the sidebar ({plain(metadata.get('name', 'a trained net'), 60)}, "
               f"{metadata.get('epochs', '?')} epochs) reaches {metadata['test_accuracy']:.2%} on the test set.")
train_images, test_images = knobs.LIVE_SIZES["activations"]
epochs = st.select_slider("Live run: epochs", [1, 2], 1, key="ac_epochs")
st.caption(f"Live: each of the eight for {epochs} epoch{'s' if epochs > 1 else ''} on {train_images:,} training "
           f"images, tested on {test_images:,}.")
live("ac", "Train all eight", f"activations: eight GAP nets, {epochs} epoch(s)", "activations", {"epochs": epochs},
     lambda result: show_sweep(result, "this run"))
