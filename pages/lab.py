import math
import re
import time

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from models import checkpoints, count_parameters, data
from models.lab import lab_config, training_job
from models.spec import PRESETS, TYPES, SpecError, check, describe, from_json, to_json
from models.train import default_device
from ui import jobs, teacher
from ui import models as ui_models
from ui.presenter import teaching

BUDGET = 20_000
COLUMNS = ["type", "out", "kernel", "stride", "padding", "dilation", "p"]

st.title("Architecture lab")
teaching(
    "Build a net layer by layer, see its shapes, parameters and receptive fields change as you "
    "type, then train it. The course's assignment: **under 20,000 parameters, no fully connected "
    "layer, ≥ 99.4 % on MNIST**. A saved net appears in the sidebar, so every other page can look "
    "inside it.",
    "Build a net, check it, train it.",
)

# --- The spec -----------------------------------------------------------------------------------
LINKED = "lab_layers"   # the edited spec as one line of JSON: what links and lesson scenes carry
if (linked := st.session_state.get(LINKED)) is not None and linked != st.session_state.get("lab_layers_shown"):
    st.session_state["lab_layers_shown"] = linked
    try:
        st.session_state["lab_spec"] = from_json(linked)
        st.session_state["lab_version"] = st.session_state.get("lab_version", 0) + 1
    except SpecError as error:
        st.error(f"The net in this link cannot be used: {error}")
top = st.columns([2, 1, 1])
preset = top[0].selectbox("Start from", list(PRESETS), key="lab_preset")
if top[1].button("Load it", key="lab_load") or "lab_spec" not in st.session_state:
    st.session_state["lab_spec"] = [dict(layer) for layer in PRESETS[preset]]
    st.session_state["lab_version"] = st.session_state.get("lab_version", 0) + 1
upload = top[2].file_uploader("Import a spec (JSON)", type=["json"], key="lab_import")
if upload is not None and st.session_state.get("lab_imported") != upload.file_id:
    try:
        st.session_state["lab_spec"] = from_json(upload.getvalue())
        st.session_state["lab_version"] = st.session_state.get("lab_version", 0) + 1
        st.session_state["lab_imported"] = upload.file_id
    except SpecError as error:
        st.error(f"{upload.name} cannot be used: {error}")
dataset = {"MNIST": "mnist", "CIFAR-10": "cifar10"}[
    st.radio("Train on", ["MNIST", "CIFAR-10"], horizontal=True, key="lab_dataset",
             index=1 if "CIFAR" in preset else 0)]
input_shape = (1, 28, 28) if dataset == "mnist" else (3, 32, 32)

table = pd.DataFrame([{c: layer.get(c) for c in COLUMNS} for layer in st.session_state["lab_spec"]], columns=COLUMNS)
edited = st.data_editor(
    table, num_rows="dynamic", hide_index=True, width="stretch", key=f"lab_editor_{st.session_state['lab_version']}",
    column_config={"type": st.column_config.SelectboxColumn(options=list(TYPES), required=True),
                   **{c: st.column_config.NumberColumn(step=1) for c in ("out", "kernel", "stride", "padding", "dilation")},
                   "p": st.column_config.NumberColumn(step=0.05, help="dropout probability")},
)
spec = [{k: (int(v) if k != "p" and isinstance(v, (int, float)) else float(v) if k == "p" else v)
         for k, v in row.items() if v is not None and not (isinstance(v, float) and math.isnan(v))}
        for row in edited.to_dict("records")]
st.session_state[LINKED] = st.session_state["lab_layers_shown"] = to_json(spec, compact=True)

problems = check(spec, input_shape)
if problems:
    for problem in problems:
        where = "The net" if problem.index < 0 else f"Layer {problem.index + 1} ({spec[problem.index].get('type')})"
        st.error(f"{where}: {problem.message}")
    st.stop()

rows = describe(spec, input_shape)
total = sum(row["parameters"] for row in rows)
summary, budget = st.columns([3, 1], gap="large")
summary.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
with budget:
    st.metric("Parameters", f"{total:,}", delta=f"{BUDGET - total:+,} to the 20k budget",
              delta_color="normal" if total <= BUDGET else "inverse")
    has_fc = any(layer["type"] == "fc" for layer in spec)
    st.caption("Fully connected layer: " + ("**yes** — the assignment asks for none." if has_fc else "none."))
    fc_cost = next((r["parameters"] for r in rows if r["type"] == "fc"), None)
    if fc_cost:
        st.caption(f"The fc layer alone holds {fc_cost:,} parameters ({fc_cost / max(total, 1):.0%}); a 1×1 conv "
                   "to 10 channels and global average pooling would need only channels × 10 + 10.")
    st.download_button("Export the spec (JSON)", to_json(spec), file_name="cnn-lab-spec.json",
                       mime="application/json", key="lab_export")

# --- Training --------------------------------------------------------------------------------------
st.subheader("Train it")
settings = st.columns(4)
epochs = settings[0].number_input("Epochs", 1, 30, 3 if default_device().type == "cpu" else 15, key="lab_epochs")
batch = settings[1].select_slider("Batch size", [32, 64, 128, 256, 512], 128, key="lab_batch")
lr = settings[2].select_slider("Learning rate (peak)", [0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.2], 0.05, key="lab_lr")
optimizer = settings[3].radio("Optimizer", ["sgd", "adamw"], horizontal=True, key="lab_optimizer")


if st.button("Train", key="lab_train", icon=":material/play_arrow:"):
    config = lab_config(epochs, batch, lr, optimizer)
    try:
        job = training_job(spec, dataset, input_shape, config, limit=st.session_state.get("lab_train_limit"))
        jobs.start("lab_job", f"lab: {total:,}-parameter net, {epochs} epochs", job)
    except data.DataError as error:
        st.error(f"The {dataset} data is not available here. {error}")


def curves(history: list[dict]) -> go.Figure:
    epochs_done = [row["epoch"] for row in history]
    fig = go.Figure([go.Scatter(x=epochs_done, y=[r["loss"] for r in history], name="training loss", yaxis="y"),
                     go.Scatter(x=epochs_done, y=[r["test_accuracy"] for r in history], name="test accuracy",
                                yaxis="y2")])
    fig.update_layout(height=280, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="epoch",
                      yaxis=dict(title="loss"), yaxis2=dict(title="accuracy", overlaying="y", side="right",
                                                          tickformat=".1%"),
                      legend=dict(orientation="h", y=1.15, x=1, xanchor="right"))
    return fig


def show_result(run: dict) -> None:
    result = run["result"]
    accuracy = result.test_accuracy
    st.success(f"Done: test accuracy {accuracy:.2%} after {len(result.history)} epochs in {result.seconds:.1f} s "
               f"on {result.device}." if accuracy is not None else "Stopped before the first epoch finished.")
    if result.history:
        st.plotly_chart(curves([{"epoch": r["epoch"], "loss": r["train_loss"], "test_accuracy": r["test_accuracy"]}
                                for r in result.history]), width="stretch")
    name = st.text_input("Name this net", f"my net {time.strftime('%H%M')}", key="lab_name")
    if st.button("Save it to the model list", key="lab_save", icon=":material/save:") and \
            teacher.allowed("Saving a model to the shared list") and result.history:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "net"
        path = ui_models.runs_dir() / f"{slug}.pt"
        net = run["net"]
        checkpoints.save(path, net, arch="spec", arch_kwargs={"layers": run["spec"], "input_shape": run["input_shape"]},
                         init_state_dict=run["initial"], metadata={
                             "name": name, "dataset": run["dataset"], "classes": run["classes"],
                             "mean": run["mean"], "std": run["std"], "test_accuracy": accuracy,
                             "parameters": count_parameters(net), "epochs": len(result.history),
                             "train_seconds": round(result.seconds, 2), "device": result.device,
                             "torch_version": torch.__version__, "history": result.history,
                             "command": "architecture lab"})
        st.success(f"Saved as “{name}”: choose it in the sidebar to look inside it on the other pages.")


def live_curves(progress: dict) -> None:
    """While training: the loss every few steps, and the test accuracy after each epoch."""
    if not progress.get("step_losses"):
        return
    per_epoch = progress["steps_per_epoch"]
    fig = go.Figure([go.Scatter(x=[s / per_epoch for s, _ in progress["step_losses"]],
                                y=[loss for _, loss in progress["step_losses"]], name="training loss", yaxis="y")])
    if progress.get("history"):
        fig.add_trace(go.Scatter(x=[r["epoch"] for r in progress["history"]],
                                 y=[r["test_accuracy"] for r in progress["history"]], name="test accuracy",
                                 mode="lines+markers", yaxis="y2"))
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="epoch",
                      yaxis=dict(title="loss"), yaxis2=dict(title="accuracy", overlaying="y", side="right",
                                                          tickformat=".1%"),
                      legend=dict(orientation="h", y=1.15, x=1, xanchor="right"))
    st.plotly_chart(fig, width="stretch", key="lab_live_curves")


jobs.follow("lab_job", show_result,
            lambda p: f"epoch {p.get('epoch', 1)} of {epochs} · loss {p.get('loss', float('nan')):.3f}"
            + (f" · last test accuracy {p['history'][-1]['test_accuracy']:.2%}" if p.get("history") else ""),
            live_curves)

# --- Saved runs ---------------------------------------------------------------------------------------
saved = [e for e in ui_models.catalogue()[0] if str(ui_models.runs_dir()) in e.path]
if saved:
    with st.expander(f"Saved nets ({len(saved)})"):
        st.dataframe(pd.DataFrame([{"name": e.label, "data": e.dataset, "parameters": e.parameters,
                                    "test accuracy": e.test_accuracy, "trained": e.trained_on} for e in saved]),
                     hide_index=True, width="stretch")
        chosen = st.multiselect("Compare on one chart", [e.label for e in saved], max_selections=2, key="lab_compare")
        if chosen:
            fig = go.Figure()
            for entry in (e for e in saved if e.label in chosen):
                history = checkpoints.read(entry.path)["metadata"].get("history", [])
                fig.add_trace(go.Scatter(x=[r["epoch"] for r in history], y=[r["test_accuracy"] for r in history],
                                         name=entry.label, mode="lines+markers"))
            fig.update_layout(height=280, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="epoch",
                              yaxis=dict(title="test accuracy", tickformat=".1%"))
            st.plotly_chart(fig, width="stretch")
