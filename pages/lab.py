import math

import pandas as pd
import streamlit as st

from models import checkpoints
from models.lab import default_epochs, lab_config, training_job
from models.leaderboard import ASSIGNMENT, MAX_NAME
from models.spec import (INPUT_SHAPES, PRESETS, SETTINGS, TYPES, SpecError, blocks, check, describe, from_json,
                         to_json, training_problem)
from ui import jobs, teacher
from ui import catalogue
from ui.projector import teaching
from ui.text import plain
from viz.lab import net_diagram, training_curves

BUDGET = ASSIGNMENT["parameters"]
COLUMNS = ["type", "out", "kernel", "stride", "padding", "dilation", "bias", "p"]
NEW_LAYER = {"conv": {"type": "conv", "out": 16, "kernel": 3, "bias": False}, "bn": {"type": "bn"},
             "relu": {"type": "relu"}, "dropout": {"type": "dropout", "p": 0.05},
             "maxpool": {"type": "maxpool", "kernel": 2}, "gap": {"type": "gap"}, "fc": {"type": "fc", "out": 10},
             "residual": {"type": "residual", "out": 16}}
TITLES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}

st.title("Architecture lab")
teaching(
    "Build a net layer by layer, see its shapes, parameters and receptive fields change as you "
    "type, then train it. The course's assignment: **under 20,000 parameters, no fully connected "
    "layer, ≥ 99.4 % on MNIST in under 20 epochs**. A saved net appears in the sidebar, so every "
    "other page can look inside it, and on the class leaderboard below.",
    "Build a net, check it, train it.",
)


LINKED = "lab_layers"   # the edited spec as one line of JSON: what links and lesson scenes carry


def set_spec(layers: list[dict]) -> None:
    """Show `layers` in a fresh editor (a data editor keeps edits, not values)."""
    st.session_state["lab_spec"] = [dict(layer) for layer in layers]
    st.session_state["lab_version"] = st.session_state.get("lab_version", 0) + 1
    st.session_state[LINKED] = st.session_state["lab_layers_shown"] = to_json(layers, compact=True)


# --- The spec -----------------------------------------------------------------------------------
linked = st.session_state.get(LINKED)
brought = linked != st.session_state.get("lab_layers_shown")   # by a link or a lesson scene
# The page was left and Streamlit dropped the editor's edits, which only the link text still holds.
forgotten = (f"lab_editor_{st.session_state.get('lab_version')}" not in st.session_state
             and "lab_spec" in st.session_state and linked != to_json(st.session_state["lab_spec"], compact=True))
if linked is not None and (brought or forgotten):
    try:
        set_spec(from_json(linked))
    except SpecError as error:
        st.session_state["lab_layers_shown"] = linked
        st.error(f"The net in this link cannot be used: {error}")
top = st.columns([2, 1, 2])
preset = top[0].selectbox("Start from", list(PRESETS), key="lab_preset")
if top[1].button("Load it", key="lab_load") or "lab_spec" not in st.session_state:
    set_spec(PRESETS[preset].layers)
    st.session_state["lab_dataset"] = TITLES[PRESETS[preset].dataset]
upload = top[2].file_uploader("Import a spec (JSON)", type=["json"], key="lab_import")
if upload is not None and st.session_state.get("lab_imported") != upload.file_id:
    st.session_state["lab_imported"] = upload.file_id
    try:
        set_spec(from_json(upload.getvalue()))
    except SpecError as error:
        st.error(f"This file cannot be used: {error}")
dataset = {"MNIST": "mnist", "CIFAR-10": "cifar10"}[
    st.radio("Train on", ["MNIST", "CIFAR-10"], horizontal=True, key="lab_dataset")]
input_shape = INPUT_SHAPES[dataset]
st.caption(f"Input: {'×'.join(map(str, input_shape))} ({TITLES[dataset]} images).")


def cell(key: str, value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if key == "bias":
        return bool(value)
    if key == "p":
        return float(value)
    return int(value) if isinstance(value, (int, float)) else value


table = pd.DataFrame([{c: layer.get(c) for c in COLUMNS} for layer in st.session_state["lab_spec"]], columns=COLUMNS)
table.index = range(1, len(table) + 1)
edited = st.data_editor(
    table, num_rows="fixed", width="stretch", key=f"lab_editor_{st.session_state['lab_version']}",
    column_config={"_index": st.column_config.NumberColumn("layer"),
                   "type": st.column_config.SelectboxColumn(options=list(TYPES), required=True),
                   **{c: st.column_config.NumberColumn(step=1) for c in ("out", "kernel")},
                   **{c: st.column_config.NumberColumn(step=1, help=f"blank: {default}")
                      for c, default in (("stride", "1 (a max-pool: its kernel)"), ("padding", 0), ("dilation", 1))},
                   "bias": st.column_config.CheckboxColumn(help="conv only: a bias per output channel "
                                                           "(none needed in front of a batch norm)"),
                   "p": st.column_config.NumberColumn(step=0.05, help="dropout probability (blank: 0.05)")},
)
spec = [{"type": row["type"], **{k: cell(k, row[k]) for k in SETTINGS.get(row["type"], ()) if cell(k, row[k]) is not None}}
        for row in edited.to_dict("records")]
st.session_state[LINKED] = st.session_state["lab_layers_shown"] = to_json(spec, compact=True)

# Editing anywhere in the net: insert, duplicate, delete and move one layer.
operations = st.columns([1, 1.3, 1, 1, 1, 1, 1, 1])
position = int(operations[0].number_input("Layer", 1, max(len(spec), 1), 1, key="lab_row"))
kind = operations[1].selectbox("New layer type", list(NEW_LAYER), key="lab_new_type", label_visibility="visible")
at = position - 1
edits = {
    "insert above": lambda: spec[:at] + [dict(NEW_LAYER[kind])] + spec[at:],
    "insert below": lambda: spec[:at + 1] + [dict(NEW_LAYER[kind])] + spec[at + 1:],
    "duplicate": lambda: spec[:at + 1] + [dict(spec[at])] + spec[at + 1:],
    "delete": lambda: spec[:at] + spec[at + 1:],
    "move up": lambda: spec[:at - 1] + [spec[at], spec[at - 1]] + spec[at + 1:] if at > 0 else spec,
    "move down": lambda: spec[:at] + [spec[at + 1], spec[at]] + spec[at + 2:] if at + 1 < len(spec) else spec,
}
for column, (label, edit) in zip(operations[2:], edits.items()):
    column.markdown("&nbsp;")
    if column.button(label.capitalize(), key=f"lab_edit_{label.replace(' ', '_')}", width="stretch",
                     disabled=not spec and label not in ("insert above", "insert below")):
        set_spec(edit() if spec else [dict(NEW_LAYER[kind])])
        st.rerun()

problems = check(spec, input_shape)
if problems:
    for problem in problems:
        where = "The net" if problem.index < 0 else f"Layer {problem.index + 1} ({plain(spec[problem.index].get('type'), 40)})"
        st.error(f"{where}: {plain(problem.message, 300)}")
    st.stop()

rows = describe(spec, input_shape)
total = sum(row["parameters"] for row in rows)
st.plotly_chart(net_diagram(blocks(spec, rows)), width="stretch", key="lab_diagram")
summary, budget = st.columns([3, 1], gap="large")
summary.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
has_fc = any(layer["type"] == "fc" for layer in spec)
with budget:
    over = total - BUDGET
    st.metric("Parameters", f"{total:,}", delta=f"{over:+,} vs 20k", delta_color="inverse",
              help="Red when the net is over the assignment's budget of 20,000 parameters.")
    st.caption(f"**{'Over' if over > 0 else 'Within'} the budget** by {abs(over):,} parameters.")
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
epochs = settings[0].number_input(
    "Epochs", 1, 30, default_epochs(), key="lab_epochs",
    help=f"{default_epochs()} by default where this server trains: a quick run for the class. The assignment asks for "
         f"≥ {ASSIGNMENT['accuracy']:.1%} in fewer than {ASSIGNMENT['epochs']} epochs: raise this to go for it.")
batch = settings[1].select_slider("Batch size", [32, 64, 128, 256, 512], 128, key="lab_batch")
lr = settings[2].select_slider("Learning rate (peak)", [0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.2, 1.0, 10.0], 0.05,
                               key="lab_lr")
optimizer = settings[3].radio("Optimizer", ["sgd", "adamw"], horizontal=True, key="lab_optimizer")
if (too_big := training_problem(spec, input_shape, int(batch))) is not None:
    st.error(f"This net cannot be trained here: {too_big}.")
else:
    jobs.train_button("lab", "Train", f"lab: {total:,}-parameter net, {epochs} epoch{'s' if epochs > 1 else ''}",
                      lambda: training_job(spec, dataset, input_shape, lab_config(epochs, batch, lr, optimizer),
                                           limit=st.session_state.get("lab_train_limit")), needs=[dataset])


def show_result(run: dict) -> None:
    result = run["result"]
    epochs_done = len(result.history)
    if result.diverged:
        st.error("The loss exploded (NaN, or past 50): the learning rate is too high for this net, so the run "
                 "stopped itself. Lower the learning rate and train again.")
    elif result.test_accuracy is None:
        st.warning("Stopped before the first epoch finished.")
    else:
        st.success(f"Done: test accuracy {result.test_accuracy:.2%} after {epochs_done} "
                   f"epoch{'s' if epochs_done != 1 else ''} in {result.seconds:.1f} s on {run['metadata']['device']}.")
    if result.history or result.step_losses:
        st.plotly_chart(training_curves(result.step_losses, result.history,
                                        max(1, run["metadata"]["train_images"] // run["metadata"]["config"]["batch_size"]),
                                        run["metadata"]["config"]["epochs"], "This run"),
                        width="stretch", key="lab_result_curves")
    if not result.history or result.diverged:
        return
    if (saved := st.session_state.get("lab_saved")) is not None and saved[0] is result:
        st.success(f"Saved as “{plain(saved[1], MAX_NAME)}” and chosen in the sidebar: every other page now looks "
                   "inside it. It is on the class leaderboard below.")
        return
    name = st.text_input("Name this net", "my net", max_chars=MAX_NAME, key="lab_name")
    if st.button("Save it to the model list", key="lab_save", icon=":material/save:") and \
            teacher.allowed("Saving a model to the shared list"):
        st.session_state["lab_saved"] = (result, catalogue.save_lab_net(run, name.strip() or "my net"))
        st.rerun()


def live_curves(progress: dict) -> None:
    """While training: the loss at every report and the test accuracy after each epoch."""
    if progress.get("step_losses"):
        st.plotly_chart(training_curves(progress["step_losses"], progress.get("history", []),
                                        progress["steps_per_epoch"], progress["epochs"], "Training, live"),
                        width="stretch", key="lab_live_curves")


jobs.follow("lab", show_result,
            lambda p: f"epoch {p.get('epoch', 1)} of {p.get('epochs', '…')} · loss {p.get('loss', float('nan')):.3f}"
            + (f" · last test accuracy {p['history'][-1]['test_accuracy']:.2%}" if p.get("history") else ""),
            live_curves)

# --- The class leaderboard ----------------------------------------------------------------------------
st.subheader("The class leaderboard")
board = catalogue.leaderboard().entries()
if not board:
    st.info("No net has been saved from the lab yet. Train one and save it: it appears here for the whole class.")
else:
    st.dataframe(pd.DataFrame([{
        "name": entry.name, "data": TITLES.get(entry.dataset, entry.dataset), "parameters": entry.parameters,
        "test accuracy": None if entry.test_accuracy is None else round(100 * entry.test_accuracy, 2),
        "epochs": entry.epochs, "seconds": round(entry.seconds, 1), "no FC layer": not entry.has_fc,
        "meets the assignment": entry.meets_assignment()} for entry in board]),
        hide_index=True, width="stretch", key="lab_board",
        column_config={"test accuracy": st.column_config.NumberColumn(format="%.2f %%"),
                       "parameters": st.column_config.NumberColumn(format="%d")})
    st.caption(f"Click a column to sort. The assignment: ≥ {ASSIGNMENT['accuracy']:.1%} on MNIST, fewer than "
               f"{ASSIGNMENT['parameters']:,} parameters, fewer than {ASSIGNMENT['epochs']} epochs, no fully "
               f"connected layer. {sum(e.meets_assignment() for e in board)} of {len(board)} nets meet it.")
    if teacher.configured_key() is None or teacher.is_teacher():
        remove = st.columns([3, 1])
        chosen = remove[0].selectbox("Remove an entry (teacher)", board, key="lab_board_pick",
                                     format_func=lambda e: f"{e.name} · {e.parameters:,} parameters · #{e.id}")
        remove[1].markdown("&nbsp;")
        if remove[1].button("Remove", key="lab_board_remove", icon=":material/delete:") and \
                teacher.allowed("Removing a leaderboard entry"):
            catalogue.leaderboard().remove(chosen.id)
            st.rerun()

    saved = {e.label: e for e in catalogue.catalogue()[0] if str(catalogue.runs_dir()) in e.path}
    chosen_runs = st.multiselect("Compare saved nets on one chart", list(saved), max_selections=3, key="lab_compare")
    if chosen_runs:
        from viz.charts import epoch_curves

        series = {}
        for label in chosen_runs:
            history = checkpoints.read(saved[label].path)["metadata"].get("history", [])
            series[label] = ([r["epoch"] for r in history], [r["test_accuracy"] for r in history])
        st.plotly_chart(epoch_curves(series, "Test accuracy per epoch", "test accuracy", percent=True),
                        width="stretch")

