"""Live tweaking in front of a class (issue 21): a lab that edits nets anywhere, presets that set
what they imply, a budget that turns red, runs that survive a page change and stop when their
owner has gone, a diverging run that says so, and the class leaderboard."""

import time

import pytest
import streamlit as st

from models.spec import GAP_PRESET
from tests.apptest import run, run_until
from tests.test_presenter import open_page


@pytest.fixture(autouse=True)
def fresh(monkeypatch, tmp_path):
    monkeypatch.setenv("CNN_LAB_RUNS", str(tmp_path / "runs"))
    st.cache_resource.clear()
    st.cache_data.clear()


def _types(at):
    return [layer["type"] for layer in at.session_state["lab_spec"]]


def test_layers_are_inserted_moved_duplicated_and_deleted_anywhere():
    net = [{"type": "conv", "out": 8, "kernel": 3}, {"type": "relu"}, {"type": "conv", "out": 10, "kernel": 1},
           {"type": "gap"}]
    at = run("pages/lab.py", lab_spec=net, lab_version=50)
    at.number_input(key="lab_row").set_value(2)
    at.selectbox(key="lab_new_type").set_value("bn")
    at.button(key="lab_edit_insert_above").click().run()
    assert _types(at) == ["conv", "bn", "relu", "conv", "gap"]
    at.number_input(key="lab_row").set_value(3)
    at.button(key="lab_edit_duplicate").click().run()
    assert _types(at) == ["conv", "bn", "relu", "relu", "conv", "gap"]
    at.button(key="lab_edit_delete").click().run()
    assert _types(at) == ["conv", "bn", "relu", "conv", "gap"]
    at.number_input(key="lab_row").set_value(2)
    at.button(key="lab_edit_move_down").click().run()
    assert _types(at) == ["conv", "relu", "bn", "conv", "gap"]
    at.number_input(key="lab_row").set_value(3)
    at.button(key="lab_edit_move_up").click().run()
    assert _types(at) == ["conv", "bn", "relu", "conv", "gap"]
    at.number_input(key="lab_row").set_value(5)
    at.selectbox(key="lab_new_type").set_value("conv")
    at.button(key="lab_edit_insert_below").click().run()
    assert _types(at)[-1] == "conv"
    assert any("Layer 6 (conv)" in e.value and "flattened" in e.value for e in at.error)   # said at its layer
    assert not at.exception


def test_a_preset_sets_the_dataset_and_input_size_it_implies():
    at = run("pages/lab.py")
    at.selectbox(key="lab_preset").set_value("ResNet-20 (CIFAR-10)")
    at.button(key="lab_load").click().run()
    assert at.radio(key="lab_dataset").value == "CIFAR-10"
    assert any("Input: 3×32×32" in c.value for c in at.caption)
    assert at.metric[0].value == "269,722"
    at.selectbox(key="lab_preset").set_value("The course's GAP net (MNIST)")
    at.button(key="lab_load").click().run()
    assert at.radio(key="lab_dataset").value == "MNIST" and at.metric[0].value == "9,762"   # the shipped net's


def test_the_budget_reads_red_when_a_net_is_over_it():
    from streamlit.proto.Metric_pb2 import Metric

    over = [{"type": "conv", "out": 64, "kernel": 3}, {"type": "conv", "out": 64, "kernel": 3},
            {"type": "conv", "out": 10, "kernel": 1}, {"type": "gap"}]
    at = run("pages/lab.py", lab_spec=over, lab_version=60)
    assert at.metric[0].proto.delta.startswith("+") and at.metric[0].proto.color == Metric.MetricColor.Value("RED")
    assert any("**Over the budget**" in c.value for c in at.caption)
    under = run("pages/lab.py", lab_spec=GAP_PRESET, lab_version=61)
    assert under.metric[0].proto.delta.startswith("-")
    assert under.metric[0].proto.color == Metric.MetricColor.Value("GREEN")
    assert any("**Within the budget**" in c.value for c in under.caption)


def test_the_net_drawing_follows_the_spec():
    at = run("pages/lab.py", lab_spec=GAP_PRESET, lab_version=62)
    import json

    diagram = json.loads([c for c in at.get("plotly_chart") if "block by block" in c.proto.spec][0].proto.spec)
    labels = [t["text"][0] for t in diagram["data"]]
    assert len(labels) == 10 and labels[0].startswith("conv 3×3<br>bn<br>relu<br>dropout<br><b>8×26×26</b><br>88 p")
    assert "RF 22" in " ".join(labels)


def test_a_diverging_run_says_so_instead_of_hanging(data_available):
    fully_connected = [{"type": "fc", "out": 64}, {"type": "relu"}, {"type": "fc", "out": 10}]
    at = run("pages/lab.py", lab_spec=fully_connected, lab_version=70, lab_train_limit=2048, lab_epochs=2,
             lab_lr=10.0)
    at.button(key="lab_train").click().run()
    run_until(at, lambda at: bool(at.error) or bool(at.success), timeout=300)
    assert any("The loss exploded (NaN, or past 50): the learning rate is too high" in e.value for e in at.error)


def test_a_run_survives_a_page_change_and_waits_for_its_owner(data_available, monkeypatch):
    import ui.jobs
    from tests.shipped import ROOT

    monkeypatch.setattr(ui.jobs, "session_connected", lambda session: True)
    at = open_page("lab", lab_train_limit=8192, lab_epochs=3, lab_batch=64)
    at.button(key="lab_train").click().run()
    deadline = time.monotonic() + 25          # longer than the old 15-s cutoff
    while time.monotonic() < deadline:
        for page in ("pages/feature_maps.py", "pages/softmax.py"):
            at.switch_page(str(ROOT / page)).run()
            assert not at.exception
        time.sleep(2)
    links = [link.proto.label for link in at.get("page_link")]
    assert any(label.startswith("lab: ") and "Open Architecture lab" in label for label in links), links
    job = [j for j in ui.jobs.worker()._jobs.values() if j.slot == "lab"][-1]
    assert job.status in ("running", "done")
    at.switch_page(str(ROOT / "pages/lab.py")).run()
    run_until(at, lambda at: bool(at.success), timeout=600)


def test_a_run_whose_owner_left_stops_after_the_grace_period(monkeypatch):
    import threading

    import ui.jobs
    from models.jobs import RUNNING, STOPPED

    monkeypatch.setattr(ui.jobs, "GRACE_SECONDS", 1.0)
    connected = threading.Event()
    connected.set()
    monkeypatch.setattr(ui.jobs, "session_connected", lambda session: connected.is_set())

    from streamlit.testing.v1 import AppTest

    def start():
        import time

        import streamlit as st

        import ui.jobs as j

        def long_run(ctx):
            while not ctx.stop.is_set():
                time.sleep(0.05)
            return "stopped"

        j.note_session()
        if st.button("go", key="go_train"):
            j.start("demo", "a demo run", long_run)
        job = j.find("demo")
        st.write(job.status if job else "none")

    page = AppTest.from_function(start).run()
    page.button(key="go_train").click().run()
    job = [j for j in ui.jobs.worker()._jobs.values() if j.slot == "demo"][-1]
    deadline = time.monotonic() + 10
    while job.status != RUNNING and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)
    assert job.status == RUNNING        # the owner is still connected
    connected.clear()                   # ...and now every session of theirs is gone
    deadline = time.monotonic() + 10
    while job.status != STOPPED and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.status == STOPPED


def test_the_leaderboard_lists_every_saved_net_sorted_and_survives_a_restart(tmp_path):
    from models.leaderboard import Leaderboard

    board = Leaderboard(tmp_path / "board.sqlite")
    board.add("<b>big</b> net", "mnist", 45_000, 0.995, 10, 60.0, False, "a.pt")
    board.add("our gap net", "mnist", 9_762, 0.9951, 15, 120.0, False, "b.pt")
    board.add("fc net", "mnist", 15_362, 0.996, 15, 120.0, True, "c.pt")
    board.add("quick", "mnist", 9_000, 0.990, 3, 20.0, False, "d.pt")
    restarted = Leaderboard(tmp_path / "board.sqlite")
    names = [e.name for e in restarted.entries()]
    assert names == ["our gap net", "fc net", "<b>big</b> net", "quick"]
    assert [e.meets_assignment() for e in restarted.entries()] == [True, False, False, False]
    restarted.remove(restarted.entries()[1].id)
    assert [e.name for e in Leaderboard(tmp_path / "board.sqlite").entries()] == ["our gap net", "<b>big</b> net", "quick"]


def test_two_sessions_save_and_the_teacher_removes_one(monkeypatch, tmp_path, data_available):
    monkeypatch.setenv("CNN_LAB_RUNS", str(tmp_path))
    saved = []
    for name in ("Ada's net", "Ben's net"):
        at = run("pages/lab.py", lab_train_limit=1024, lab_epochs=1)
        at.button(key="lab_train").click().run()
        run_until(at, lambda at: bool(at.success))
        at.text_input(key="lab_name").input(name).run()
        at.button(key="lab_save").click().run()
        saved.append(at)
    board = [d.value for d in saved[-1].dataframe if "meets the assignment" in d.value.columns][0]
    assert sorted(board["name"]) == ["Ada's net", "Ben's net"]
    monkeypatch.setenv("CNN_LAB_TEACHER_KEY", "a-long-teacher-key")
    student = run("pages/lab.py")
    assert not any(b.key == "lab_board_remove" for b in student.button)   # students cannot remove
    teacher = run("pages/lab.py", teacher_unlocked=True)
    teacher.selectbox(key="lab_board_pick").set_value(teacher.selectbox(key="lab_board_pick").options[0])
    teacher.button(key="lab_board_remove").click().run()
    board = [d.value for d in teacher.dataframe if "meets the assignment" in d.value.columns][0]
    assert len(board) == 1
