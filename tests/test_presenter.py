"""Scenes in the app (AppTest): links reproduce a view, lessons restore their scenes, and the
projector layout. Pages run inside ui.shell.frame as app.py runs them."""

import json

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.shipped import ROOT, shown
from ui.scenes import Lesson, Scene, lesson_from_json, to_query

TIMEOUT = 90


@pytest.fixture(autouse=True)
def fresh(monkeypatch, tmp_path):
    monkeypatch.setenv("CNN_LAB_RUNS", str(tmp_path / "runs"))   # digits behind links go here
    st.cache_resource.clear()
    st.cache_data.clear()


def _app_opened_at(url_path: str, root: str) -> None:
    """app.py, with `url_path` as the page it opens on (AppTest has no address bar)."""
    import streamlit as st

    from ui.navigation import SECTIONS
    from ui.shell import frame

    infos = {p.title: p for pages in SECTIONS.values() for p in pages}
    page = st.navigation([st.Page(f"{root}/{p.file}", title=p.title, url_path=p.url_path or "home",
                                  default=p.url_path == url_path) for p in infos.values()])
    frame(infos[page.title].url_path, page.run)   # the default page's own url_path reads ""


def open_page(url_path: str, params: dict | None = None, **state) -> AppTest:
    at = AppTest.from_function(_app_opened_at, args=(url_path, str(ROOT)), default_timeout=TIMEOUT)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def scenes_panel(at: AppTest):
    """The sidebar's "Scenes, links and lessons" panel."""
    return next(e for e in at.sidebar.expander if e.label == "Scenes, links and lessons")


def figures(at: AppTest) -> list[dict]:
    specs = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        spec.get("layout", {}).pop("template", None)
        specs.append(spec)
    return specs


def link_of(at: AppTest) -> dict:
    return {key: at.query_params[key][0] if isinstance(at.query_params[key], list) else at.query_params[key]
            for key in at.query_params}


def warnings(at: AppTest) -> str:
    return " ".join(shown(w.value) for w in at.warning)


def test_a_link_reproduces_the_view_in_another_session(data_available):
    at = open_page("feature_maps")
    at.radio(key="fm_source_mnist").set_value("MNIST test image").run()
    at.number_input(key="fm_mnist_index").set_value(12).run()
    at.selectbox(key="fm_layer_mnist").set_value(3).run()
    assert not at.exception
    link = link_of(at)
    assert link["fm_layer_mnist"] == "3" and link["fm_mnist_index"] == "12"

    other = open_page("feature_maps", link)          # a fresh session, as another browser
    assert other.selectbox(key="fm_layer_mnist").value == 3
    assert other.number_input(key="fm_mnist_index").value == 12
    assert figures(other) == figures(at)
    assert link_of(other) == link                     # URL -> page state -> URL is stable
    assert not warnings(other)


def test_the_link_follows_every_change(data_available):
    at = open_page("softmax")
    at.select_slider(key="temperature").set_value(5.0).run()
    assert link_of(at)["temperature"] == "5.0"
    code = scenes_panel(at).code[0].value
    assert code.endswith(to_query_string(link_of(at)))


def to_query_string(params: dict) -> str:
    from urllib.parse import urlencode

    return "?" + urlencode(params)


def test_a_link_with_unknown_parts_says_what_it_could_not_open(data_available):
    at = open_page("softmax", {"temperature": "2.0", "no_such_control": "1", "model_mnist": "a-net-from-elsewhere",
                               "digit": "0123456789ab"})
    assert at.select_slider(key="temperature").value == 2.0
    text = warnings(at)
    assert "no_such_control" in text and "a-net-from-elsewhere" in text and "digit" in text


def test_a_drawn_digit_travels_by_link(data_available):
    drawn = np.zeros((28, 28), np.uint8)
    drawn[6:22, 13:16] = 255   # a "1"
    drawing = {"version": "4.4.0", "objects": []}
    at = open_page("draw_digit", your_digit={"image": drawn, "source": "your drawing"}, _your_digit_strokes=drawing,
                   _canvas_digit=drawn)
    link = link_of(at)
    assert len(link["digit"]) == 12

    other = open_page("softmax", link)   # another browser, another page: "your digit" is there
    assert np.array_equal(other.session_state["your_digit"]["image"], drawn)
    assert other.radio(key="softmax_source").options[0] == "Your digit"
    redrawn = open_page("draw_digit", link)
    assert redrawn.session_state["_your_digit_strokes"] == drawing
    assert [m.value for m in redrawn.markdown if m.value.isdigit()] == ["1"]


def test_a_saved_scene_restores_the_page_and_its_figures(data_available):
    at = open_page("strides")
    at.slider(key="sd_kernel").set_value(5).run()
    at.slider(key="sd_stride").set_value(3).run()
    expander = scenes_panel(at)
    expander.text_input(key="scene_title").input("stride 3").run()
    scenes_panel(at).button(key="scene_add").click().run()
    lesson = at.session_state["lesson"]
    assert [s.title for s in lesson.scenes] == ["stride 3"]
    exported = lesson.to_json()

    restored, problems = lesson_from_json(exported)
    scene = restored.scenes[0]
    assert not problems and scene.controls["sd_kernel"] == 5
    again = open_page("strides", to_query(scene))   # what walking to the scene opens
    assert again.slider(key="sd_kernel").value == 5 and again.slider(key="sd_stride").value == 3
    assert figures(again) == figures(at)


@pytest.mark.parametrize("index", range(10))
def test_the_shipped_lesson_walks_scene_by_scene(data_available, index):
    from ui.lessons import shipped_lessons
    from ui.links import digit_store

    lesson, _ = lesson_from_json(shipped_lessons()["intro course"].read_text())
    if index >= len(lesson.scenes):
        pytest.skip("the lesson is shorter")
    scene = lesson.scenes[index]
    digit_id = digit_store().save(scene.digit) if scene.digit else None
    at = open_page(scene.page, to_query(scene, digit_id, presenting=True),
                   lesson=lesson, lesson_index=index, presenting=False)
    assert not warnings(at).startswith("Parts of this link")
    for key, value in scene.controls.items():   # every control of the scene took effect
        assert at.session_state[key] == value, key
    assert at.session_state["presenting"]
    notes = [m.value for m in at.markdown if scene.note in m.value]
    assert notes, "the scene's note is on the projector"


def test_walking_a_lesson_goes_to_the_next_scene():
    lesson = Lesson("two", [Scene("softmax", "first", {"temperature": 2.0}), Scene("strides", "second", {"sd_stride": 3})])
    at = open_page("softmax", lesson=lesson, lesson_index=0)
    scenes_panel(at).button(key="panel_next").click().run()
    assert not at.exception
    assert at.session_state["lesson_index"] == 1
    assert at.title[0].value == "Strides and the checkerboard"
    assert at.slider(key="sd_stride").value == 3


def test_presenter_mode_hides_the_sidebar_and_chosen_controls(data_available):
    at = open_page("strides", presenting=True, presenter_hidden={"strides": ["sd_padding"]})
    style = " ".join(h.proto.body for h in at.get("html"))
    assert "stSidebar" in style and ".st-key-sd_padding" in style and "font-size: 20px" in style
    assert any("No lesson is open" in c.value for c in at.caption)   # the bar says how to get one
    teaching = [m.value for m in at.markdown]
    assert any("checkerboard" in t for t in teaching)
    assert not any(t.startswith("With stride 1, a 3×3 kernel visits") for t in teaching)   # the long text is gone
    at.button(key="presenter_leave").click().run()
    assert not at.session_state["presenting"]
    assert not any("stSidebar" in h.proto.body for h in at.get("html"))


def _load_lesson_in_page(text: bytes) -> None:
    import streamlit as st

    from ui.lessons import load_lesson
    from ui.scenes import Lesson, Scene

    st.session_state.setdefault("lesson", Lesson("mine", [Scene("softmax", "kept")]))
    load_lesson(text, "upload.json")


@pytest.mark.parametrize("bad", [b"\x00\x01 not json", b'{"format": "something-else"}', b'{"format": "cnn-lab-lesson/1", "scenes": [{"page": "nope"}]}'])
def test_a_bad_lesson_upload_is_refused_and_keeps_the_lesson(bad):
    # AppTest cannot upload a file; the panel's uploader hands the bytes to load_lesson.
    page = AppTest.from_function(_load_lesson_in_page, args=(bad,), default_timeout=TIMEOUT).run()
    assert not page.exception
    assert "Nothing was loaded" in page.error[0].value
    assert [s.title for s in page.session_state["lesson"].scenes] == ["kept"]


def test_opening_the_shipped_lesson_from_the_panel_starts_at_scene_one():
    at = open_page("softmax")
    panel = scenes_panel(at)
    panel.selectbox(key="lesson_shipped").set_value("intro course").run()
    scenes_panel(at).button(key="lesson_open").click().run()
    assert not at.exception
    lesson = at.session_state["lesson"]
    assert lesson.title.startswith("Intro to CNNs") and at.session_state["lesson_index"] == 0
    assert at.title[0].value == "Draw a digit"


def test_choosing_a_scene_from_the_list_goes_there():
    lesson = Lesson("three", [Scene("softmax", "a"), Scene("strides", "b"), Scene("softmax", "c")])
    at = open_page("softmax", lesson=lesson)
    scenes_panel(at).selectbox(key="lesson_pick").set_value(2).run()
    assert not at.exception
    assert at.session_state["lesson_index"] == 2
    assert at.session_state["lesson_pick"] is None
    assert at.title[0].value == "Softmax vs log-softmax"


def test_the_shipped_lesson_walks_from_first_to_last_with_next(data_available):
    from ui.navigation import BY_PATH

    at = open_page("strides")
    scenes_panel(at).selectbox(key="lesson_shipped").set_value("intro course").run()
    scenes_panel(at).button(key="lesson_open").click().run()
    lesson = at.session_state["lesson"]
    for index, scene in enumerate(lesson.scenes):
        assert not at.exception, (scene.title, [e.value for e in at.exception])
        assert at.session_state["lesson_index"] == index
        assert at.title[0].value.startswith(BY_PATH[scene.page].title.split(":")[0].split(" ")[0])
        for key, value in scene.controls.items():
            assert at.session_state[key] == value, (scene.title, key)
        if index < len(lesson.scenes) - 1:
            scenes_panel(at).button(key="panel_next").click().run()
    assert scenes_panel(at).button(key="panel_next").disabled   # the last scene


def test_a_link_carries_the_net_built_in_the_lab(monkeypatch):
    from models.spec import PRESETS

    at = open_page("lab")
    link = link_of(at)
    gap_net = json.loads(link["lab_layers"])["layers"]
    assert gap_net == [dict(layer) for layer in PRESETS[at.selectbox(key="lab_preset").value].layers]

    smaller = [dict(layer) for layer in gap_net]
    smaller[0]["out"] = 4   # the class's own change to the first layer
    link["lab_layers"] = json.dumps({"format": "cnn-lab-spec/1", "layers": smaller}, separators=(",", ":"))
    other = open_page("lab", link)
    assert other.session_state["lab_spec"] == smaller
    assert json.loads(link_of(other)["lab_layers"])["layers"] == smaller
    def parameters(page):
        return int(page.metric[0].value.replace(",", ""))

    assert parameters(other) < parameters(at)

    broken = open_page("lab", {"lab_layers": "{not json"})
    assert any("The net in this link cannot be used" in e.value for e in broken.error)


def test_a_link_carries_typed_scores_and_a_typed_kernel(data_available):
    scores = "0,0,0,0,0,0,0,0,0,9"
    softmax_page = open_page("softmax", {"softmax_source": "Type your own", "softmax_scores": scores})
    shown = [d.value for d in softmax_page.dataframe if "softmax" in d.value.columns][0]
    assert shown["score"].tolist() == [0.0] * 9 + [9.0] and shown["softmax"].idxmax() == 9
    assert link_of(softmax_page)["softmax_scores"] == scores   # and it stays in the link
    assert "softmax_scores" not in link_of(open_page("softmax", {"softmax_source": "Type your own"}))

    sobel = "1,0,-1;2,0,-2;1,0,-1"
    conv_page = open_page("convolution", {"cv_kernel": "type your own", "cv_weights": sobel})
    editors = [d.value.to_numpy().tolist() for d in conv_page.dataframe if d.value.shape == (3, 3)]
    assert editors == [[[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]]
    assert link_of(conv_page)["cv_weights"] == sobel
    from ui.scenes import is_control

    assert is_control("convolution", "cv_weights") and conv_page.session_state["cv_weights"] == sobel   # scenes keep it

    bad = open_page("softmax", {"softmax_source": "Type your own", "softmax_scores": "1,2,oops"})
    assert "do not fit a 10 table" in warnings(bad)
    assert [d.value for d in bad.dataframe if "softmax" in d.value.columns][0]["score"].tolist()[:2] == [1.0, -0.5]
