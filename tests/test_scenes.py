"""Scenes, lessons and links as data: JSON and URL round trips, and files that do not fit."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ui.navigation import BY_PATH
from ui.scenes import (
    LESSON_FORMAT, PAGE_CONTROLS, Digit, DigitStore, Lesson, LessonError, Scene, capture_controls, decode_value,
    encode_value, from_query, is_control, lesson_from_json, numbers_from_text, numbers_to_text, scene_from_json,
    to_query,
)

VALUES = [3, 0.25, "Your digit", "7", True, "MNIST test image", -2, "a \"quoted\" & spaced, value", 1.0]


def example_scene(page: str, index: int = 0) -> Scene:
    keys = [pattern.replace("*", f"x_{i}") for i, pattern in enumerate(PAGE_CONTROLS[page])]
    controls = {key: VALUES[(i + index) % len(VALUES)] for i, key in enumerate(keys)}
    rng = np.random.default_rng(index)
    drawing = {"version": "4.4.0", "objects": [{"type": "path", "path": [["M", 1, 2], ["L", 3, 4]]}]}
    digit = Digit(rng.integers(0, 256, (28, 28), dtype=np.uint8), "your drawing", drawing)
    return Scene(page, f"scene on {page or 'home'}", controls, {"mnist": "gap-mnist", "cifar10": "resnet20"},
                 digit, keys[:1], "one line")


def test_every_page_of_the_app_has_scene_controls_and_back():
    assert set(PAGE_CONTROLS) == set(BY_PATH)


@pytest.mark.parametrize("page", sorted(PAGE_CONTROLS))
def test_scene_json_round_trip_for_every_page(page):
    scene = example_scene(page)
    lesson, problems = lesson_from_json(Lesson("t", [scene]).to_json())
    assert problems == []
    assert lesson.scenes == [scene]


@pytest.mark.parametrize("page", sorted(PAGE_CONTROLS))
def test_scene_url_round_trip_for_every_page(page):
    scene = example_scene(page, index=3)
    link = from_query(page, to_query(scene, digit_id="0123456789ab", presenting=True))
    assert link.problems == []
    assert link.scene.controls == scene.controls
    assert link.scene.models == scene.models
    assert link.scene.hidden == scene.hidden
    assert link.digit_id == "0123456789ab" and link.presenting


plain_values = st.one_of(st.booleans(), st.integers(-10**9, 10**9),
                         st.floats(allow_nan=False, allow_infinity=False, width=32), st.text(max_size=40))


@given(plain_values)
def test_a_value_survives_the_address_bar(value):
    decoded = decode_value(encode_value(value))
    assert decoded == value and type(decoded) is type(value)


@given(st.text(max_size=40))
def test_url_to_state_to_url_is_stable(text):
    # Whatever a person types into the address bar, reading it and writing it back gives a
    # parameter that reads the same again: the second round changes nothing.
    once = encode_value(decode_value(text))
    assert encode_value(decode_value(once)) == once


def test_readable_links():
    scene = Scene("feature_maps", controls={"fm_dataset": "MNIST", "fm_layer_mnist": 2, "fm_source_mnist": "7"})
    assert to_query(scene) == {"fm_dataset": "MNIST", "fm_layer_mnist": "2", "fm_source_mnist": '"7"'}


def test_only_the_pages_own_controls_are_captured():
    state = {"fm_layer_mnist": 2, "fm_mnist_upload": object(), "fm_mnist_random": False, "teacher_unlocked": True,
             "your_digit": {"image": 0}, "gc_opacity": 0.5, "fm_spec": [1, 2], "fm_text": "x" * 5000}
    assert capture_controls("feature_maps", state) == {"fm_layer_mnist": 2}
    assert not is_control("feature_maps", "fm_mnist_upload")
    assert not is_control("lab", "lab_train") and not is_control("draw_digit", "presenting")


def test_a_link_cannot_reach_the_rest_of_the_session():
    link = from_query("softmax", {"temperature": "2.0", "teacher_unlocked": "true", "presenting": "1",
                                  "your_digit": "x", "digit": "../../etc/passwd"})
    assert link.scene.controls == {"temperature": 2.0}
    assert link.digit_id is None and not link.presenting
    assert len(link.problems) == 4


@pytest.mark.parametrize("text, message", [
    (b"\x89PNG\r\n\x1a\n not json", "not JSON"),
    ("[1, 2, 3]", "not a CNN Lab lesson"),
    (json.dumps({"title": "a chart spec", "data": []}), "not a CNN Lab lesson"),
    (json.dumps({"format": LESSON_FORMAT, "scenes": "all of them"}), "no list of scenes"),
    ("{" * 6_000_000, "at most"),
    ('{"format": "%s", "scenes": %s}' % (LESSON_FORMAT, "[" * 5000 + "]" * 5000), "deeper"),
])
def test_a_corrupt_or_foreign_lesson_file_is_refused(text, message):
    with pytest.raises(LessonError, match=message):
        lesson_from_json(text)


def test_a_lesson_that_does_not_fit_loads_what_it_can():
    good = example_scene("softmax").to_json()
    unknown_page = {"page": "attention-maps", "title": "transformers"}
    foreign_controls = {"page": "softmax", "title": "sneaky",
                        "controls": {"temperature": 2.0, "teacher_unlocked": True, "shift": {"a": 1}},
                        "models": {"imagenet": "vit", "mnist": "gap-mnist"},
                        "digit": {"image": "not base64!"}, "hidden": ["temperature", "lab_spec"]}
    text = json.dumps({"format": LESSON_FORMAT, "title": "mixed", "scenes": [good, unknown_page, 7, foreign_controls]})
    lesson, problems = lesson_from_json(text)
    assert [s.title for s in lesson.scenes] == [good["title"], "sneaky"]
    sneaky = lesson.scenes[1]
    assert sneaky.controls == {"temperature": 2.0}
    assert sneaky.models == {"mnist": "gap-mnist"}
    assert sneaky.digit is None and sneaky.hidden == ["temperature"]
    text_of_problems = " ".join(problems)
    for expected in ("attention-maps", "not an object", "teacher_unlocked", "shift", "imagenet", "digit"):
        assert expected in text_of_problems


@pytest.mark.parametrize("hidden", [5, True, "temperature", {"temperature": 1}])
def test_a_scene_whose_hidden_controls_are_no_list_hides_none(hidden):
    scene, _ = scene_from_json({"page": "softmax", "hidden": hidden, "controls": {"temperature": 2.0}})
    assert scene.hidden == [] and scene.controls == {"temperature": 2.0}


def test_a_link_value_nested_past_pythons_limit_stays_text():
    deep = "[" * 3000 + "]" * 3000
    assert decode_value(deep) == deep


def test_the_digit_store(tmp_path):
    store = DigitStore(tmp_path)
    digit = example_scene("draw_digit").digit
    digit_id = store.save(digit)
    assert DigitStore.valid_id(digit_id) and store.save(digit) == digit_id   # same digit, same id
    assert store.load(digit_id) == digit
    assert store.load("ffffffffffff") is None                   # unknown here
    assert store.load("../" + digit_id) is None                 # not an id
    (tmp_path / f"{digit_id}.json").write_text("{broken")
    assert store.load(digit_id) is None                         # damaged


def test_the_shipped_lesson_reads_cleanly_and_follows_the_course():
    from ui.lessons import shipped_lessons

    lessons = shipped_lessons()
    assert "intro course" in lessons
    lesson, problems = lesson_from_json(lessons["intro course"].read_text())
    assert problems == []
    pages = [scene.page for scene in lesson.scenes]
    course = ["draw_digit", "convolution", "feature_maps", "kernels", "softmax", "initialisation", "activations",
              "learning_rate", "overfitting", "batch_norm", "plain_vs_residual", "gradcam", "strides"]
    assert [p for i, p in enumerate(pages) if p not in pages[:i]] == course
    assert lesson.scenes[0].digit.drawing is not None   # it opens with a drawn digit


def test_a_table_of_numbers_as_a_control_value():
    kernel = np.array([[1, 0, -1], [2, 0.5, -2], [1e-7, 0, -1]])
    text = numbers_to_text(kernel)
    assert text == "1,0,-1;2,0.5,-2;1e-07,0,-1"
    np.testing.assert_array_equal(numbers_from_text(text, (3, 3)), kernel)
    scores = np.linspace(-3, 3, 10)
    np.testing.assert_allclose(numbers_from_text(numbers_to_text(scores), (10,)), scores, rtol=1e-5)   # 6 digits
    assert decode_value(encode_value(text)) == text   # survives the address bar
    for bad in ("1,2,3", "1,0,-1;2,0,-2;1,0,nan", "1,0,x;2,0,-2;1,0,-1", "", 7, None, "1," * 3000 + "1"):
        assert numbers_from_text(bad, (3, 3)) is None, bad


def test_the_shipped_lesson_is_what_its_builder_writes_from_the_shipped_runs():
    """Its lines state what the scenes show (e.g. what the shipped Figure-6 runs found): rebuilt
    whenever those change (`python -m lessons.build_intro_course`)."""
    from lessons.build_intro_course import OUT, intro_course

    assert json.loads(OUT.read_text()) == json.loads(intro_course().to_json())


def test_the_shipped_lessons_models_are_in_the_sidebar():
    """A scene names its models by their sidebar label: each must find a shipped net of its dataset."""
    from lessons.build_intro_course import OUT
    from ui import catalogue

    lesson, problems = lesson_from_json(OUT.read_text())
    assert problems == [] and lesson.scenes
    for scene in lesson.scenes:
        for dataset, label in scene.models.items():
            entry = catalogue.find(label)
            assert entry is not None and entry.dataset == dataset, (scene.title, label)


def test_every_pages_address_is_its_files_name():
    """So a fresh server's first request, which Streamlit answers in its pages/-folder mode,
    finds the very page st.navigation would open (ui/__init__.py)."""
    from pathlib import Path

    from ui.navigation import ALL_PAGES

    assert all(page.url_path in ("", Path(page.file).stem) for page in ALL_PAGES)


def test_lessons_saved_under_the_old_page_names_still_open():
    scene, problems = scene_from_json({"page": "feature-maps", "title": "old", "controls": {"fm_dataset": "MNIST"}})
    assert scene.page == "feature_maps" and scene.controls == {"fm_dataset": "MNIST"} and not problems
