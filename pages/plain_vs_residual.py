import json
import re
from dataclasses import replace

import pandas as pd
import streamlit as st

from models import data
from models.residual_study import (
    COURSE_BAR, HE_ET_AL, LOSS_TIE, NETS, HE_ET_AL_STEPS, TEST_IMAGES, TITLES, accuracy_tie, compare_with_he_et_al,
    best_at_each_depth, deeper_runs, gradient_norms_at_init, load_runs, shallowest_at_bar, train_again,
)
from models.train import RECIPES, default_device
from ui import jobs
from ui.projector import teaching
from ui.text import plain
from viz.charts import accuracy_against_bar, epoch_curves, layer_norms

st.title("Plain vs residual nets")
teaching(
    "Stack more layers and a net should do at least as well: the extra layers could just copy "
    "their input. He et al. (2016) found the opposite: their 56-layer *plain* net reached a higher "
    "**training** loss than their 20-layer one — not overfitting: it was harder to optimise. With "
    "skip connections (each block computes *x + F(x)*, so copying is the easy default) their deeper "
    "net trained better than the shallow one. Below: the four nets of their Figure 6, trained here "
    "with one recipe — the table under the curves says whether these runs show the same — "
    "and the gradients that reach each layer at the start.",
    "He et al.: deeper plain nets train *worse*; skip connections fix it. Do these runs agree?",
)


@st.cache_data(show_spinner=False)
def shipped_runs():
    return load_runs()


runs, problems = shipped_runs()
if problems:
    st.warning("Some of the shipped training runs are missing, so their curves are not shown:\n\n"
               + "\n".join(f"- {problem}" for problem in problems))

# --- Figure 6 --------------------------------------------------------------------------------
METRICS = {
    "training loss": ("train_loss", False, lambda v: v),
    "training error": ("train_accuracy", True, lambda v: 1 - v),
    "test error": ("test_accuracy", True, lambda v: 1 - v),
}
if runs:
    metric = st.radio("Plot", list(METRICS), horizontal=True, key="pr_metric")
    column, percent, transform = METRICS[metric]
    panels = st.columns(2)
    for panel, (kind, names) in zip(panels, [("Plain", ["plain20", "plain56"]), ("Residual", ["resnet20", "resnet56"])]):
        series = {runs[n].title: ([r["epoch"] for r in runs[n].history],
                                  [transform(r[column]) for r in runs[n].history]) for n in names if n in runs}
        panel.plotly_chart(epoch_curves(series, f"{kind} nets: {metric}", metric, percent=percent),
                           width="stretch")

    table = pd.DataFrame([{
        "net": run.title, "layers": NETS[name][0], "skip connections": "yes" if NETS[name][1] else "no",
        "final training loss": round(run.history[-1]["train_loss"], 4),
        "training accuracy": f"{run.history[-1]['train_accuracy']:.2%}",
        "test accuracy": f"{run.test_accuracy:.2%}" if run.test_accuracy is not None else "?",
        "epochs": run.epochs, "training images": run.train_images or 50_000,
        "seconds (all sessions)": run.seconds, "last epoch on": run.device, "precision": run.precision or "not recorded",
    } for name, run in runs.items()])
    st.dataframe(table, hide_index=True, width="stretch")

    comparisons = compare_with_he_et_al(runs)
    if comparisons:
        st.markdown("**What He et al.'s results lead one to expect, and what these runs show** (final training "
                    "loss, lower is better; final test accuracy, higher is better):")
        st.dataframe(pd.DataFrame([{
            "": f"{TITLES[c.net]} against {TITLES[c.other]}",
            "expected": " or ".join(c.expected),
            "training loss here": f"{c.loss[0]:.3f} vs {c.loss[1]:.3f}: {c.by_loss}",
            "test accuracy here": (f"{c.accuracy[0]:.2%} vs {c.accuracy[1]:.2%}: {c.by_accuracy}"
                                   if c.by_accuracy else "not recorded"),
            "agrees": "yes" if c.agrees else "no",
        } for c in comparisons]), hide_index=True, width="stretch")
        agreeing = sum(c.agrees for c in comparisons)
        disagreeing = [f"{TITLES[c.net]} against {TITLES[c.other]}" for c in comparisons if not c.agrees]
        st.markdown(f"These runs agree with He et al. on **{agreeing} of {len(comparisons)}** comparisons"
                    + (f"; not on {', '.join(disagreeing)}." if disagreeing else "."))
        accuracies = [a for c in comparisons for a in c.accuracy if a is not None]
        noise = (f" or test accuracies within the test set's sampling noise (two standard errors of an accuracy "
                 f"measured on {TEST_IMAGES:,} images: {100 * accuracy_tie(sum(accuracies) / len(accuracies)):.1f} points near "
                 f"{sum(accuracies) / len(accuracies):.0%})" if accuracies else "")
        st.caption(f"\"About the same\": training losses within {LOSS_TIE:.0%} of their mean (a margin we chose){noise}. "
                   "At 20 layers a plain net still trains well — on ImageNet He et al. found plain-18 and ResNet-18 "
                   "about as accurate — so there \"about the same\" agrees too.")
        skipped = len(HE_ET_AL) - len(comparisons)
        if skipped:
            st.caption(f"{skipped} of He et al.'s comparisons {'is' if skipped == 1 else 'are'} left out: its runs are "
                       "missing or were trained with different settings.")

    recipes = {json.dumps(run.config, sort_keys=True) for run in runs.values()}
    images = {run.train_images or 50_000 for run in runs.values()}
    first = next(iter(runs.values()))
    if len(runs) > 1 and len(recipes) == 1 and len(images) == 1 and first.config:
        recipe = first.config
        count = {2: "Both", 3: "All three", 4: "All four"}.get(len(runs), f"All {len(runs)}")
        optimizer = "SGD with Nesterov momentum" if recipe.get("optimizer") == "sgd" else recipe.get("optimizer", "?")
        smoothing = f", label smoothing {recipe['label_smoothing']}" if recipe.get("label_smoothing") else ""
        augmentation = ", crop-and-flip augmentation" if recipe.get("augment", True) else ", no augmentation"
        if recipe.get("augment", True) and recipe.get("cutout"):
            augmentation += f" with Cutout ({recipe['cutout']}×{recipe['cutout']} squares)"
        command = re.sub(r" --(out|state) \S+| --resume", "", first.command).replace(first.name, "<net>")
        trained = (f"{count} were trained with one recipe ({recipe.get('epochs')} epochs of batch "
                   f"{recipe.get('batch_size')} on {images.pop():,} training images, {optimizer}, one-cycle schedule "
                   f"to a peak learning rate of {recipe.get('lr')}, weight decay {recipe.get('weight_decay')}"
                   f"{smoothing}{augmentation}: `{command}`)")
    else:
        trained = "These runs were not all trained with one recipe (compare them with care)"
    steps = sorted({run.steps for run in runs.values() if run.steps})
    took = ("" if not steps else f" They took {steps[0]:,} steps each;" if len(steps) == 1
            else f" They took {steps[0]:,} to {steps[-1]:,} steps;")
    st.caption(f"{trained}, and tested on all {TEST_IMAGES:,} test images after every epoch.{took} He et al. took "
               f"{HE_ET_AL_STEPS:,} steps of 128, so their nets end more accurate: compare the order of the curves, "
               "not their values.")

# --- Trained longer: the course's bar --------------------------------------------------------
st.subheader(f"Trained longer: which depth reaches the course's {COURSE_BAR:.0%}?")
teaching(
    f"The course says a correctly built ResNet reaches above {COURSE_BAR:.0%} on CIFAR-10. The runs above are "
    "short, so they say little about that. Below are the ResNets (3×3 stem) that ship with the app, each with its "
    "own recipe: longer training, label smoothing and Cutout (random squares blanked out of each training image, "
    "against overfitting), some with a second, gentler learning-rate cycle. Each is in the sidebar's CIFAR-10 "
    "list, so every other page can look inside it.",
    f"The shipped ResNets against the course's {COURSE_BAR:.0%}: does depth buy accuracy?",
)


@st.cache_data(show_spinner=False)
def shipped_deeper_runs():
    return deeper_runs()


deeper, deeper_problems = shipped_deeper_runs()
for problem in deeper_problems:
    st.warning(f"A shipped checkpoint could not be read: {problem}")
if not deeper:
    st.info("No CIFAR-10 ResNet with a 3×3 stem ships in checkpoints/, so there is nothing to compare here.")
else:
    st.plotly_chart(accuracy_against_bar(
        {f"{run.title} ({run.recipe})": ([r["epoch"] for r in run.history], [r["test_accuracy"] for r in run.history])
         for run in deeper if run.history},
        COURSE_BAR, f"the course's {COURSE_BAR:.0%}", "Test accuracy after each epoch (full CIFAR-10 test set)"),
        width="stretch")
    st.dataframe(pd.DataFrame([{
        "net": run.title, "parameters": f"{run.parameters:,}", "epochs": run.epochs,
        "test accuracy": f"{run.test_accuracy:.2%}",
        f"reaches {COURSE_BAR:.0%}": "yes" if run.test_accuracy >= COURSE_BAR else "no",
        "recipe": run.recipe, "file": run.file,
    } for run in deeper]), hide_index=True, width="stretch")
    best_of_each = best_at_each_depth(deeper)
    shallowest = shallowest_at_bar(deeper)
    shipped_depths = ", ".join(str(run.depth) for run in best_of_each)
    if shallowest is None:
        best = max(best_of_each, key=lambda r: r.test_accuracy)
        verdict = (f"None of the depths shipped here ({shipped_depths} layers) reaches the course's {COURSE_BAR:.0%}: "
                   f"the best is {best.title} at **{best.test_accuracy:.2%}**.")
    else:
        verdict = (f"Of the depths shipped here ({shipped_depths} layers), **{shallowest.title}** is the shallowest "
                   f"that reaches the course's {COURSE_BAR:.0%}: **{shallowest.test_accuracy:.2%}**, with "
                   f"{shallowest.parameters:,} parameters.")
        below = [run for run in best_of_each if run.depth < shallowest.depth]
        if below:
            verdict += " The shallower ones, at their best: " + ", ".join(
                f"{r.title} {r.test_accuracy:.2%}" for r in below) + "."
    st.markdown(verdict)
    st.caption(f"Single-view accuracy on all {TEST_IMAGES:,} test images of this app's CIFAR-10 copy (JPEG at quality "
               "75, whose pixels differ a little from the original files'; He et al. report 91.25 % for ResNet-20 "
               "on the originals). Only the depths listed were trained: a depth missing from the table is not "
               "ruled out. Each checkpoint records its whole command, machine and seconds.")

# --- Gradients at initialisation --------------------------------------------------------------
st.subheader("How much gradient reaches each layer at the start")
teaching(
    "Before any training, send one batch of CIFAR-10 images through a freshly initialised net and "
    "back-propagate the loss. The chart shows the size of the gradient on each layer's weights "
    "(log scale). In the plain net the gradient is multiplied by every layer's Jacobian on its way "
    "back, so its size drifts exponentially with depth. With batch norm it *grows* toward the "
    "input (explodes) rather than vanishing — the textbook story says vanishing, the measurement "
    "says otherwise (see Yang et al., 2019, on batch norm at initialisation). Either way, the "
    "early layers of the deep plain net get updates of the wrong size. In the residual net each "
    "skip connection hands the gradient on unchanged, and the sizes stay within a narrow band.",
    "Gradient per layer at initialisation: plain nets drift exponentially, skips keep it even.",
)
depth = st.select_slider("Depth", [20, 56, 110], 56, key="pr_depth")


@st.cache_data(show_spinner="Back-propagating one batch through both nets…")
def init_gradients(depth: int) -> tuple[dict[str, list[float]], str]:
    test_set = data.test_images("cifar10")
    images = data.normalise(test_set.images[:128], test_set.mean, test_set.std)
    labels, source = test_set.labels[:128], f"the first 128 images of {test_set.source}"
    norms = {f"{kind}-{depth}": [n for name, n in gradient_norms_at_init(depth, residual, images, labels)
                                 if name != "fc"]
             for kind, residual in [("plain", False), ("ResNet", True)]}
    return norms, source


norms, source = init_gradients(depth)
st.plotly_chart(layer_norms(norms, f"‖gradient‖ per convolution at initialisation, depth {depth} ({source})"),
                width="stretch")
ratio = {name: values[0] / values[-1] for name, values in norms.items()}   # first conv vs last conv
st.markdown(" · ".join(f"{name}: the first convolution gets **{r:,.0f}×** the gradient of the last one"
                       if r >= 10 else f"{name}: the first convolution gets **{r:.2f}×** the gradient of the last one"
                       for name, r in ratio.items()))

# --- Rerun one live ---------------------------------------------------------------------------
st.subheader("Train one again, live")
on_gpu = default_device().type == "cuda"
settings = st.columns(3)
net_name = settings[0].selectbox("Net", list(NETS), format_func=TITLES.get, key="pr_net")
epochs = settings[1].number_input("Epochs", 1, 30, 5 if on_gpu else 2, key="pr_epochs")
images = settings[2].select_slider("Training images", [2_000, 5_000, 10_000, 50_000], 50_000 if on_gpu else 5_000,
                                   key="pr_images")
TESTED_ON = 2_000   # test images after each epoch of a live run (the shipped runs: all 10,000)
# The shipped runs' own settings, so the new curve can be laid over the shipped one.
shipped_config = runs[net_name].config if net_name in runs else {}
recipe = replace(RECIPES[net_name].config, **{k: v for k, v in shipped_config.items() if k not in ("epochs", "device")})
pace = ""
if net_name in runs and runs[net_name].seconds_per_1000_images:
    shipped = runs[net_name]
    last = shipped.history[-1]
    precision = last.get("precision") or (shipped.precision.split(" (")[0] if shipped.precision else None)
    precision = f" in {plain(precision)}" if precision else ""
    compiled = " through torch.compile (the run here is not compiled)" if last.get("compiled") else ""
    pace = (f"The shipped {shipped.title}'s last epoch took {shipped.seconds_per_1000_images:.1f} s per 1,000 images on "
            f"{plain(shipped.device)}{precision}{compiled}; this server may be faster or slower, and the progress bar "
            "says how long is left.")
st.caption(f"With the shipped runs' settings: batch size {recipe.batch_size}, peak learning rate {recipe.lr}, "
           f"label smoothing {recipe.label_smoothing}; tested on {TESTED_ON:,} test images after each epoch. {pace}")


def rerun_job(name: str, epochs: int, images: int):
    batch = min(recipe.batch_size, images // 4)
    # A few reports per epoch, so the progress bar and the loss move within a short one.
    config = replace(recipe, epochs=epochs, batch_size=batch, report_every=max(1, images // batch // 4))
    return lambda ctx: train_again(name, config, images, TESTED_ON, ctx.report, ctx.stop)


jobs.train_button("pr", "Train it", f"{TITLES[net_name]}, {epochs} epochs on {images:,} images",
                  lambda: rerun_job(net_name, int(epochs), int(images)), needs=["cifar10"])


def show_rerun(run: dict) -> None:
    history = run["history"]
    if run.get("diverged"):
        st.error("The loss exploded (NaN, or past 50): the learning rate is too high for this net, so the run "
                 "stopped itself.")
    if not history:
        st.warning("Stopped before the first epoch finished.")
        return
    st.success(f"{TITLES[run['name']]}: training loss {history[-1]['train_loss']:.3f}, test accuracy "
               f"{history[-1]['test_accuracy']:.2%} after {len(history)} epoch{'s' if len(history) > 1 else ''}, "
               f"{run['seconds']:.0f} s on {run['device']}.")
    series = {f"{TITLES[run['name']]} (now)": ([r["epoch"] for r in history], [r["train_loss"] for r in history])}
    if run["name"] in runs:
        shipped = runs[run["name"]].history
        series[f"{TITLES[run['name']]} (shipped)"] = ([r["epoch"] for r in shipped], [r["train_loss"] for r in shipped])
    st.plotly_chart(epoch_curves(series, "Training loss: this run and the shipped one", "training loss",
                                 dashed=[name for name in series if "shipped" in name]), width="stretch")


jobs.follow("pr", show_rerun, lambda p: f"epoch {p.get('epoch', 1)} · loss {p.get('loss', float('nan')):.3f}")
