import pandas as pd
import streamlit as st

from models import knobs
from ui.knob_runs import best_and_worst, live, shipped, shipped_caption
from ui.projector import teaching
from viz.knobs import batch_bars, diverged_label, loss_curves, range_test, schedule

st.title("Learning rate and batch size")
teaching(
    "The learning rate is how far each step of gradient descent moves the weights. Too low and the "
    "loss hardly falls; about right and it falls steadily; too high and every step overshoots — the "
    "loss jumps around, then climbs, and finally the numbers overflow to **NaN**. The batch size "
    "decides how many images each step averages over, and so how many steps an epoch has. "
    "**What to notice:** the same net, the same batches, only the learning rate (or the batch) "
    "changes — and the curves tell them apart within a few hundred steps.",
    "Too low: crawls. Too high: jumps, then NaN. Bigger batches: fewer steps per epoch.",
)


def sweep_table(runs: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{
        "peak learning rate": run["lr"], "steps": run["steps"],
        "final training loss": f"{run['history'][-1]['train_loss']:.4f}" if run["history"] else "—",
        "test accuracy": f"{run['test_accuracy']:.1%}" if run["test_accuracy"] is not None else "—",
        "outcome": diverged_label(run) or ("stopped" if run["stopped"] else "finished"),
    } for run in runs])


def sweep_findings(runs: list[dict], test_images: int) -> str:
    finished = [run for run in runs if run["test_accuracy"] is not None and not run["why"]]
    parts = []
    if ranking := best_and_worst(finished, lambda run: f"learning rate {run['lr']:g}", test_images):
        parts.append(ranking)
    for run in runs:
        if run["why"] == "NaN":
            parts.append(f"at **{run['lr']:g}** the loss, last reported at step {run['steps']}, turned **NaN** by "
                         f"step {run['diverged_by_step']} and the run was stopped there")
        elif run["why"] == "exploded":
            parts.append(f"at **{run['lr']:g}** the loss shot up to {run['peak_loss']:.2g} (it started near 2.3)")
    return "In these runs " + "; ".join(parts) + "." if parts else ""


def show_sweep(result: dict, where: str) -> None:
    runs = result["runs"]
    st.plotly_chart(loss_curves(runs, f"Training loss at each peak learning rate ({where})"), width="stretch")
    st.dataframe(sweep_table(runs), hide_index=True, width="stretch")
    st.markdown(sweep_findings(runs, result["test_images"]))


# --- The learning rate --------------------------------------------------------------------------
st.subheader("Learning rates, side by side")
stored = shipped("lr_sweep")
if stored:
    result = stored["result"]
    show_sweep(result, "shipped runs")
    st.caption(shipped_caption(stored, f"The GAP net from the same initial weights, {result['epochs']} epochs on "
                                       f"{result['train_images']:,} training images, batch {result['batch_size']}, "
                                       f"SGD with momentum and the one-cycle schedule below (the learning rates are "
                                       f"its peaks); tested on {result['test_images']:,} test images. A run whose "
                                       f"loss turns NaN is stopped there and marked."))
else:
    st.info("The shipped sweep is not here (checkpoints/knobs/lr_sweep.json): run it live below.")

st.markdown("**Run it again, live** — pick four peak learning rates:")
columns = st.columns(4)
options = [0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 100.0, 1000.0]
defaults = (0.001, 0.05, 5.0, 1000.0)
lrs = [column.select_slider(f"Run {i + 1}", options, defaults[i], key=f"lr_rate{i + 1}")
       for i, column in enumerate(columns)]
train_images, test_images = knobs.LIVE_SIZES["lr_sweep"]
st.caption(f"Each run: 1 epoch on {train_images:,} training images (batch 32), tested on {test_images:,} test images.")
live("lr", "Train the four", f"learning rates {', '.join(f'{lr:g}' for lr in lrs)}", "lr_sweep", {"lrs": lrs},
     lambda result: show_sweep(result, "this run"),
     lambda progress: st.plotly_chart(loss_curves(progress.get("runs", []), "Training loss so far"), width="stretch"))

# --- The range test -------------------------------------------------------------------------------
st.subheader("Finding a good learning rate: the range test")
teaching(
    "Instead of training many times, train *once* while raising the learning rate a little at every step "
    "(Smith, 2017). At first the loss barely moves (too low), then it falls fast, then it turns and shoots "
    "up (too high). A good peak learning rate lies on the steep fall, well before the turn: here, a tenth "
    "of the rate where the smoothed loss was lowest.",
    "Raise the learning rate every step: pick it on the steep fall, before the loss turns up.",
)


def show_range(result: dict) -> None:
    st.plotly_chart(range_test(result), width="stretch")
    if result["chosen_lr"]:
        ended = {"": "the end of the sweep", "NaN": "the loss turned NaN",
                 "stopped": "stopped"}.get(result["ended"], f"smoothed {result['ended']}")
        st.markdown(f"The smoothed loss was lowest at learning rate **{result['best_lr']:.2g}**; the suggested peak "
                    f"is a tenth of that, **{result['chosen_lr']:.2g}**. The sweep ended at "
                    f"{result['lrs'][-1]:.2g} after {result['steps']} steps ({ended}).")


stored = shipped("lr_range_test")
if stored:
    show_range(stored["result"])
    st.caption(shipped_caption(stored, f"{stored['result']['steps']} steps of batch {stored['result']['batch_size']} "
                                       "of the GAP net, SGD with momentum 0.9."))
live("lr_range", "Run the range test", "learning-rate range test", "lr_range_test", {}, show_range)

# --- The schedule ------------------------------------------------------------------------------------
st.subheader("The one-cycle schedule the shipped nets train with")
teaching(
    "The shipped nets do not keep one learning rate: they warm up from a small one to the peak, then "
    "anneal almost to zero, while the momentum moves the other way (Smith & Topin, 2018). The warm-up "
    "lets the net settle before the big steps; the long cool-down lets it land in a minimum.",
    "Warm up to the peak, then cool down almost to zero.",
)


@st.cache_data(show_spinner=False)
def curve() -> dict:
    return knobs.one_cycle_curve()


st.plotly_chart(schedule(curve()), width="stretch")

# --- Batch size -------------------------------------------------------------------------------------------
st.subheader("Batch size")
teaching(
    "For the same number of epochs, a bigger batch means fewer steps: each one averages the gradient over "
    "more images (less noise, more work per step), but there are fewer of them. With the same learning "
    "rate, big batches therefore learn less per epoch. The *linear scaling rule* (Goyal et al., 2017) "
    "scales the learning rate with the batch to make up for it; a very small batch gets a very small rate.",
    "Same epochs: bigger batch → fewer steps. Scale the learning rate with the batch.",
)
scaling = st.radio("Learning rate", ["the same for every batch", "scaled with the batch"], horizontal=True,
                   key="lr_batch_scale")
scaled = scaling == "scaled with the batch"


def batch_table(runs: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{"batch size": run["batch_size"], "peak learning rate": round(run["lr"], 4),
                          "steps": run["total_steps"], "seconds": round(run["seconds"], 1),
                          "test accuracy": f"{run['test_accuracy']:.1%}" if run["test_accuracy"] is not None else "—"}
                         for run in runs])


def batch_findings(runs: list[dict], test_images: int) -> str:
    done = [run for run in runs if run["test_accuracy"] is not None]
    if len(done) < 2:
        return ""
    fewest = min(done, key=lambda run: run["total_steps"])
    most = max(done, key=lambda run: run["total_steps"])
    ranking = best_and_worst(done, lambda run: f"batch {run['batch_size']}", test_images)
    return (f"In these runs {ranking}. Batch **{fewest['batch_size']}** took {fewest['total_steps']:,} steps, "
            f"batch **{most['batch_size']}** {most['total_steps']:,}.")


def show_batches(result: dict, where: str) -> None:
    rule = "scaled with the batch" if result["scale_lr"] else "the same for every batch"
    st.plotly_chart(batch_bars(result["runs"], f"Test accuracy after {result['epochs']} epoch(s), learning rate {rule} "
                                               f"({where})"), width="stretch")
    st.dataframe(batch_table(result["runs"]), hide_index=True, width="stretch")
    st.markdown(batch_findings(result["runs"], result["test_images"]))


stored = shipped("batch_sweep")
if stored:
    show_batches(stored["result"]["scaled" if scaled else "fixed"], "shipped runs")
    other = stored["result"]["fixed" if scaled else "scaled"]
    st.caption(shipped_caption(stored, f"{other['epochs']} epochs on {other['train_images']:,} training images; "
                                       f"peak learning rate {other['base_lr']:g}"
                                       + (f" × batch / {other['base_batch']}" if scaled else "")
                                       + ". Switch above to see the other rule. Seconds were measured on a shared "
                                         "machine: compare them with each other, not with your clock."))
train_images, test_images = knobs.LIVE_SIZES["batch_sweep"]
st.caption(f"Live: batches 8, 32, 128 and 512 for 1 epoch on {train_images:,} training images each.")
live("lr_batch", "Train the four batch sizes", f"batch sizes 8–512, lr {scaling}", "batch_sweep",
     {"scale_lr": scaled}, lambda result: show_batches(result, "this run"))
