import numpy as np
import pandas as pd
import streamlit as st
import torch

from models import data, knobs
from models.augment import augment
from models.dropout import rounded_p
from ui import catalogue
from ui.knob_runs import live, shipped, shipped_caption
from ui.projector import teaching
from viz.knobs import gap_lines, gap_panels, image_row, value_cells

st.title("Overfitting, dropout and augmentation")
teaching(
    "Give a net few images and many epochs and it learns *those images* — accuracy on them climbs to "
    "100 % — while accuracy on images it has never seen stops improving: the gap between the two is "
    "**overfitting**. Dropout (switch random units off while training), weight decay (an L2 penalty "
    "that keeps the weights small) and augmentation (show every image a little differently each time) "
    "all make memorising harder. Early stopping simply keeps the weights of the epoch where held-out "
    "accuracy was best. **What to notice:** the shaded gap between the red and blue curves, and how each "
    "remedy changes its width.",
    "Few images, many epochs: training accuracy → 100 %, held-out accuracy stalls. Regularise to close the gap.",
)

patience = st.select_slider("Early stopping: patience (epochs without a new best)", [2, 3, 5, 8], 5, key="of_patience")


def gap_table(runs: list[dict]) -> pd.DataFrame:
    rows = []
    for run in runs:
        if not run["history"]:
            continue
        last = run["history"][-1]
        stop = knobs.early_stop(run["history"], patience)
        rows.append({"regulariser": run["label"], "training accuracy": f"{last['fit_accuracy']:.1%}",
                     "validation accuracy": f"{last['val_accuracy']:.1%}",
                     "gap (points)": round(100 * (last["fit_accuracy"] - last["val_accuracy"]), 1),
                     "early stopping: stops after epoch": str(stop["stop_epoch"] or "—"),
                     "keeps epoch": stop["best_epoch"],
                     "its validation accuracy": f"{stop['best']:.1%}" if stop["best"] is not None else "—"})
    return pd.DataFrame(rows)


def gap_findings(table: pd.DataFrame, runs: list[dict]) -> str:
    if len(table) < 2:
        return ""
    widest, narrowest = table.loc[table["gap (points)"].idxmax()], table.loc[table["gap (points)"].idxmin()]
    text = (f"In these runs the gap after the last epoch was widest with **{widest['regulariser']}** "
            f"({widest['gap (points)']:g} points) and narrowest with **{narrowest['regulariser']}** "
            f"({narrowest['gap (points)']:g} points).")
    gaps = dict(zip(table["regulariser"], table["gap (points)"]))
    if "none" in gaps:
        narrowed = [name for name, gap in gaps.items() if name != "none" and gap < gaps["none"]]
        widened = [name for name, gap in gaps.items() if name != "none" and gap >= gaps["none"]]
        text += f" Against no regulariser ({gaps['none']:g} points): "
        text += "; ".join(part for part in (f"narrower with {', '.join(narrowed)}" if narrowed else "",
                                            f"as wide or wider with {', '.join(widened)}" if widened else "") if part)
        text += "." + (" A remedy can fail to close the gap in a given run: its strength matters as well as its kind."
                       if widened else "")
    late = [(run, stop) for run in runs if (stop := knobs.early_stop(run["history"], patience))["stop_epoch"]
            and run["history"][-1]["val_accuracy"] > stop["best"]]
    if late:
        run, stop = max(late, key=lambda pair: pair[0]["history"][-1]["val_accuracy"] - pair[1]["best"])
        text += (f" Early stopping is not free: with patience {patience} it stopped **{run['label']}** after epoch "
                 f"{stop['stop_epoch']}, keeping epoch {stop['best_epoch']} ({stop['best']:.1%}), but that run went on "
                 f"to {run['history'][-1]['val_accuracy']:.1%} by its last epoch — a longer patience keeps more.")
    return text


def show_runs(result: dict, where: str) -> None:
    for run in result["runs"]:
        run["early_stop"] = knobs.early_stop(run["history"], patience)
    st.plotly_chart(gap_panels(result["runs"], f"Accuracy on the {result['train_images']:,} training images (red) and on "
                                               f"{result['val_images']:,} held-out validation images (blue) ({where})"),
                    width="stretch")
    st.plotly_chart(gap_lines(result["runs"], f"The gap itself, epoch by epoch ({where})"), width="stretch")
    table = gap_table(result["runs"])
    st.dataframe(table, hide_index=True, width="stretch")
    st.markdown(gap_findings(table, result["runs"]))


st.subheader("Train on 1,000 images: the gap, and what closes it")
stored = shipped("regularisation")
if stored:
    show_runs(stored["result"], "shipped runs")
    st.caption(shipped_caption(stored, f"The GAP net, {stored['result']['epochs']} epochs (one-cycle, peak lr 0.05, "
                                       "batch 32) from the same initial weights. Training accuracy is measured in "
                                       "evaluation mode on the un-augmented training images. The validation images come "
                                       "from the training set but are never trained on. Green dashes: the epoch early "
                                       "stopping keeps; grey dots: where it stops."))
else:
    st.info("The shipped runs are not here (checkpoints/knobs/regularisation.json): train them live below.")

st.markdown("**Run it live:** the net without regularisation, and with one remedy.")
columns = st.columns(2)
variant = columns[0].selectbox("Remedy", [name for name in knobs.REGULARISERS if name != "none"], key="of_variant")
epochs = columns[1].select_slider("Epochs", [5, 10, 15], 10, key="of_epochs")
live("of", "Train both", f"overfitting: none vs {variant}, {epochs} epochs", "regularisation",
     {"variants": ["none", variant], "epochs": epochs}, lambda result: show_runs(result, "this run"))

# --- Dropout in numbers -----------------------------------------------------------------------------------
st.subheader("Dropout, in numbers")
teaching(
    "In training, dropout sets each value to zero with probability *p* and multiplies the survivors by "
    "1/(1 − *p*), so that on average the layer's output stays the same. In evaluation it does nothing at "
    "all. Below: one channel of the first layer's output (after ReLU) for a test digit, through torch's own "
    "dropout.",
    "Training: zero a share p of the values, scale the rest by 1/(1−p). Evaluation: do nothing.",
)
model, metadata = catalogue.require("mnist")
test_set = data.test_images("mnist")
controls = st.columns(4)
index = int(controls[0].number_input("Test image", 0, len(test_set) - 1, 0, key="of_image"))
p = controls[1].select_slider("Dropout probability p", [0.05, 0.1, 0.25, 0.5, 0.75], 0.25, key="of_p")
x = data.normalise(test_set.images[index : index + 1], test_set.mean, test_set.std)
try:
    activation = knobs.first_activation(model, x)[0]
except ValueError:
    st.warning("The chosen net has no ReLU after a convolution to show dropout on: choose another MNIST model "
               "in the sidebar.")
    st.stop()
channel = int(controls[2].number_input("Channel", 0, activation.shape[0] - 1, 0, key="of_channel"))
if controls[3].button("Draw again", key="of_drop_random", icon=":material/casino:"):
    st.session_state["of_drop_seed"] = st.session_state.get("of_drop_seed", 0) + 1
seed = int(st.session_state.get("of_drop_seed", 0))
numbers = knobs.dropout_in_numbers(activation, p, seed)

# The 8x8 window of this channel with the most activity.
window = 8
sums = torch.nn.functional.avg_pool2d(activation[channel][None, None], window, stride=1)[0, 0]
row, col = divmod(int(sums.argmax()), sums.shape[1])
crop = (slice(row, row + window), slice(col, col + window))
shown = activation[channel][crop].numpy()
kept = numbers["kept"][channel][crop].numpy()
cells = st.columns(3)
cells[0].plotly_chart(value_cells(shown, f"ReLU output, channel {channel} (rows {row}–{row + window - 1})"),
                      width="stretch")
cells[1].plotly_chart(value_cells(np.where(kept, numbers["scale"], 0.0),
                                  f"multiplier: 0 or 1/(1 − {p:g}) = {numbers['scale']:.3g}", dropped=~kept),
                      width="stretch")
cells[2].plotly_chart(value_cells(numbers["train_output"][channel][crop].numpy(), "after dropout, training mode",
                                  dropped=~kept), width="stretch")
metrics = st.columns(4)
metrics[0].metric("Values zeroed (whole layer)", f"{numbers['zeroed_share']:.1%}", help=f"expected: p = {p:.0%}")
metrics[1].metric("Mean before dropout", f"{numbers['mean_before']:.4f}")
metrics[2].metric("Mean after, training mode", f"{numbers['mean_train']:.4f}")
metrics[3].metric("Evaluation mode: values changed", f"{int((numbers['eval_output'] != activation).sum())}")
st.caption(f"The layer has {activation.numel():,} values ({activation.shape[0]} channels of "
           f"{activation.shape[1]}×{activation.shape[2]}); crossed cells are the dropped ones. Zeros that were already "
           "zero after ReLU stay zero either way. **Draw again** draws a new random mask (torch's own random numbers). "
           "The nets of this app train with the same rule but draw their coin flips four at a time from 64-bit "
           f"random numbers, to save time on a CPU; p is then rounded to a multiple of 1/65,536 ({p:g} → "
           f"{rounded_p(p):.7f}).")

# --- Augmentation ------------------------------------------------------------------------------------------
st.subheader("Augmentation: every epoch a slightly different picture")
teaching(
    "These are the very functions the training loop calls on each batch (models/augment.py): MNIST digits "
    "are shifted by up to 2 pixels and turned by up to 10°; CIFAR-10 photos are padded, cropped back at a "
    "random offset and mirrored half of the time. Cutout blackens a random square. The label stays the same, "
    "so the net has to recognise the class, not the exact pixels.",
    "Shift, turn, crop, flip, cut out: new pictures, same label.",
)
controls = st.columns(3)
dataset = controls[0].radio("Images", ["MNIST", "CIFAR-10"], horizontal=True, key="of_aug_dataset")
cutout = controls[1].select_slider("Cutout square (pixels, 0 = none)", [0, 6, 10, 14], 0, key="of_cutout")
if controls[2].button("Draw again", key="of_aug_random", icon=":material/casino:"):
    st.session_state["of_aug_seed"] = st.session_state.get("of_aug_seed", 0) + 1
name = "mnist" if dataset == "MNIST" else "cifar10"
images = data.test_images(name)
picked = images.images[:8]
generator = torch.Generator().manual_seed(int(st.session_state.get("of_aug_seed", 0)))
augmented = augment(name, picked.float(), generator, cutout_size=int(cutout))


def pictures(batch: torch.Tensor) -> np.ndarray:
    return batch[:, 0].numpy() if batch.shape[1] == 1 else batch.permute(0, 2, 3, 1).numpy()


labels = [images.classes[int(label)] for label in images.labels[:8]]
st.plotly_chart(image_row(pictures(picked), "As stored", labels), width="stretch")
st.plotly_chart(image_row(pictures(augmented.round()), "Through the training augmentation"
                          + (f" + Cutout {cutout}×{cutout}" if cutout else ""), labels), width="stretch")
if stored:
    runs = {run["label"]: run for run in stored["result"]["runs"] if run["history"]}
    gaps = {label: 100 * (run["history"][-1]["fit_accuracy"] - run["history"][-1]["val_accuracy"])
            for label, run in runs.items()}
    named = [f"{label}: **{gaps[label]:.1f}** points" for label in ("none", "augmentation", "augmentation + Cutout")
             if label in gaps]
    if named:
        st.markdown("Its effect on the gap in the shipped runs above (training minus validation accuracy after the "
                    "last epoch): " + "; ".join(named) + ".")
st.caption(f"Images: {images.source or 'the test set'}, the first eight. **Draw again** draws new random shifts, turns, crops, "
           "flips and squares.")
