"""Every page runs in Streamlit's headless AppTest with the shipped checkpoints."""

import math
import re

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from models import data
from tests.apptest import fresh_caches, run, run_until  # noqa: F401  (fresh_caches: autouse fixture)
from tests.shipped import shown

TIMEOUT = 60


def test_app_shell_shows_device_and_models():
    at = run("app.py")
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "Training runs on" in captions and ("CPU" in captions or "GPU" in captions)
    mnist_choice = at.sidebar.selectbox(key="model_mnist")
    assert "gap-mnist" in mnist_choice.format_func(mnist_choice.value)
    assert "%" in mnist_choice.format_func(mnist_choice.value)


def test_home_page_describes_every_page():
    at = run("app.py")   # the home page is the default page
    text = " ".join(m.value for m in at.markdown)
    assert "GAP MNIST net" in text and "log-sum-exp" in text and "Grad-CAM" in text


def test_navigating_to_each_page_through_the_app():
    at = run("app.py")
    for page, title in (("pages/draw_digit.py", "Draw a digit"), ("pages/softmax.py", "Softmax vs log-softmax"),
                        ("pages/convolution.py", "Convolution, step by step"),
                        ("pages/feature_maps.py", "Feature maps before and after ReLU"),
                        ("pages/kernels.py", "Kernels: 3×3, 7×7, 11×11"),
                        ("pages/gradcam.py", "Grad-CAM: where does the net look?"),
                        ("pages/strides.py", "Strides and the checkerboard"),
                        ("pages/batch_norm.py", "Batch norm and the shifting distributions"),
                        ("pages/plain_vs_residual.py", "Plain vs residual nets"),
                        ("pages/lab.py", "Architecture lab")):
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.title[0].value == title


def test_draw_page_blank_canvas_asks_for_a_digit():
    earlier = {"image": np.zeros((28, 28), dtype=np.uint8), "source": "your drawing"}
    at = run("pages/draw_digit.py", your_digit=earlier)
    assert any("Draw a digit" in i.value for i in at.info)
    assert "your_digit" not in at.session_state   # the wiped canvas wiped the digit


def test_draw_page_classifies_an_mnist_test_image(data_available):
    at = run("pages/draw_digit.py", digit_source="MNIST test image", digit_index=0)
    label = int(data.load("mnist", train=False).labels[0])
    assert _predicted(at) == str(label)
    assert at.session_state["your_digit"]["image"].shape == (28, 28)
    assert "MNIST test image 0" in at.session_state["your_digit"]["source"]


def _predicted(at) -> str:
    """The big digit the page shows as the net's answer."""
    return next(m.value for m in at.markdown if m.value.isdigit())


def test_draw_page_random_digit_of_a_class(data_available):
    at = run("pages/draw_digit.py", digit_source="MNIST test image")
    at.selectbox(key="digit_class").set_value("3").run()
    at.button(key="digit_random").click().run()
    index = at.session_state["digit_index"]
    assert int(data.load("mnist", train=False).labels[index]) == 3


def test_draw_page_without_any_model_says_so(monkeypatch, tmp_path):
    from ui import catalogue

    monkeypatch.setattr(catalogue, "SHIPPED_DIR", tmp_path)
    at = run("pages/draw_digit.py")
    assert any("no MNIST model" in e.value for e in at.error)


def test_a_training_state_beside_the_checkpoints_is_not_offered_as_a_model(monkeypatch, tmp_path):
    import shutil

    from tests.shipped import GAP_MNIST
    from ui import catalogue

    shutil.copy(GAP_MNIST, tmp_path / GAP_MNIST.name)
    torch.save({"identity": {}, "epoch": 2}, tmp_path / "resnet56_long_cifar10.state.pt")   # a run under way
    monkeypatch.setattr(catalogue, "SHIPPED_DIR", tmp_path)
    monkeypatch.setattr(catalogue, "FIGURE6_DIR", tmp_path / "no-figure-6-runs")
    entries, problems = catalogue.catalogue()
    assert [e.path for e in entries] == [str(tmp_path / GAP_MNIST.name)] and problems == []
    at = run("app.py")
    assert not any("Skipped a checkpoint" in w.value for w in at.sidebar.warning)


def _softmax_table(at):
    frames = [d.value for d in at.dataframe if "softmax" in d.value.columns]
    assert frames
    return frames[0]


TYPED_SCORES = [1.0, -0.5, 0.2, 3.0, -1.0, 0.0, 0.5, 2.0, -2.0, 1.5]   # the page's own example


def test_softmax_page_numbers_equal_torch():
    at = run("pages/softmax.py", softmax_source="Type your own")
    table = _softmax_table(at)
    scores = torch.tensor(TYPED_SCORES, dtype=torch.float64)
    np.testing.assert_allclose(table["score"], TYPED_SCORES)
    np.testing.assert_allclose(table["softmax"], torch.softmax(scores, 0).numpy(), rtol=1e-12)
    np.testing.assert_allclose(table["log-softmax"], torch.log_softmax(scores, 0).numpy(), rtol=1e-12)
    exp = np.exp(TYPED_SCORES)
    np.testing.assert_allclose(table["softmax"], exp / exp.sum(), rtol=1e-12)

    at.select_slider(key="temperature").set_value(5.0).run()
    table = _softmax_table(at)
    np.testing.assert_allclose(table["softmax"], torch.softmax(scores / 5.0, 0).numpy(), rtol=1e-12)
    np.testing.assert_allclose(table["log-softmax"], torch.log_softmax(scores / 5.0, 0).numpy(), rtol=1e-12)


def test_softmax_page_uses_your_digit():
    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[4:24, 13:16] = 255
    at = run("pages/softmax.py", your_digit={"image": digit, "source": "your drawing"})
    assert at.radio(key="softmax_source").value == "Your digit"
    table = _softmax_table(at)
    from models import checkpoints
    from models.inference import predict
    from models.inputs import net_input
    from tests.shipped import GAP_MNIST

    model, metadata = checkpoints.load(GAP_MNIST)
    np.testing.assert_allclose(table["score"], np.round(predict(model, net_input(digit, metadata)).scores, 3))
    assert table["softmax"].sum() == pytest.approx(1.0)


def test_huge_logits_stay_finite_in_the_stable_column():
    at = run("pages/softmax.py", softmax_source="Type your own")
    at.number_input(key="big_score").set_value(5000.0).run()
    frames = [d.value for d in at.dataframe if "score z" in d.value.columns]
    table = frames[0]
    naive = table["naive log(softmax(z)) in float32"].astype(float)
    stable = table["log-sum-exp log-softmax in float32"].astype(float)
    assert naive.isna().any()
    assert all(math.isfinite(v) for v in stable)
    assert stable.iloc[0] == pytest.approx(torch.log_softmax(torch.tensor(table["score z"].astype(float).to_numpy()), 0)[0].item(), abs=1e-3)


def _png_of_test_digit(index: int) -> bytes:
    """An MNIST test digit as a phone photo would show it: dark ink on light paper, large."""
    import io

    from PIL import Image

    digit = data.load("mnist", train=False).images[index, 0].numpy()
    paper = Image.fromarray(255 - digit).resize((200, 200), Image.BILINEAR)
    buffer = io.BytesIO()
    paper.save(buffer, format="PNG")
    return buffer.getvalue()


def test_draw_page_reads_an_uploaded_picture(data_available):
    at = run("pages/draw_digit.py", digit_source="Upload a picture")
    at.file_uploader(key="digit_upload").set_value(("digit.png", _png_of_test_digit(0), "image/png")).run()
    assert not at.exception and not at.error
    label = int(data.load("mnist", train=False).labels[0])
    assert _predicted(at) == str(label)
    assert at.session_state["your_digit"]["source"] == "upload digit.png"


@pytest.mark.parametrize("content, message", [
    (b"\x89PNG\r\n\x1a\n broken", "could not be read as an image"),
    (b"", "empty"),
])
def test_draw_page_bad_upload_gets_a_message(content, message):
    at = run("pages/draw_digit.py", digit_source="Upload a picture")
    at.file_uploader[0].set_value(("bad.png", content, "image/png")).run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


@pytest.fixture(scope="module")
def user_trained_mnist(tmp_path_factory, data_available):
    """A net 'the class built': other widths, trained briefly, saved where user runs go."""
    import copy

    from models import build, checkpoints
    from models.data import ImageSet
    from models.train import TrainConfig, train

    full = data.load("mnist", train=True)
    subset = ImageSet("mnist", full.images[:2048], full.labels[:2048], full.classes)
    torch.manual_seed(0)
    model = build("gap-mnist", widths=[4, 8, 4, 8], dropout=0.0)
    init = copy.deepcopy(model.state_dict())
    result = train(model, subset, None, TrainConfig(epochs=1, batch_size=64, lr=0.05, device="cpu"))
    folder = tmp_path_factory.mktemp("runs")
    checkpoints.save(folder / "tiny.pt", model, arch="gap-mnist",
                     arch_kwargs={"widths": [4, 8, 4, 8], "dropout": 0.0}, init_state_dict=init,
                     metadata={"name": "my tiny net", "dataset": "mnist", "mean": [0.1307], "std": [0.3081],
                               "classes": list(data.MNIST_CLASSES), "test_accuracy": None,
                               "parameters": sum(p.numel() for p in model.parameters()), "epochs": 1,
                               "train_seconds": result.seconds, "device": "cpu"})
    return folder


def test_feature_maps_page_every_layer_mnist(data_available):
    assert len(run("pages/feature_maps.py").selectbox(key="fm_layer_mnist").options) == 6
    for i in range(6):
        at = run("pages/feature_maps.py", fm_layer_mnist=i)
        titles = " ".join(str(c.proto.spec) for c in at.get("plotly_chart"))
        assert "before ReLU" in titles and "after ReLU" in titles and "receptive field" in titles


def test_feature_maps_page_with_a_user_trained_model(user_trained_mnist, monkeypatch):
    from ui import catalogue

    monkeypatch.setenv("CNN_LAB_RUNS", str(user_trained_mnist))
    entry = next(e for e in catalogue.catalogue()[0] if e.label == "my tiny net")
    at = run("pages/feature_maps.py", model_mnist=entry)
    layer_box = at.selectbox(key="fm_layer_mnist")
    assert "4×26×26" in layer_box.format_func(0)   # the tiny net's own widths


def test_feature_maps_page_blank_upload_gives_a_message():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (60, 60), 250).save(buffer, format="PNG")
    at = run("pages/feature_maps.py", fm_source_mnist="Upload a picture")
    at.file_uploader(key="fm_mnist_upload").set_value(("blank.png", buffer.getvalue(), "image/png")).run()
    assert not at.exception
    assert any("looks empty" in w.value for w in at.warning)
    assert not at.get("plotly_chart")


def test_feature_maps_page_cifar(data_available):
    at = run("pages/feature_maps.py", fm_dataset="CIFAR-10")
    assert len(at.selectbox(key="fm_layer_cifar10").options) == 19
    at.selectbox(key="fm_layer_cifar10").set_value(18).run()
    assert not at.exception
    table = [d.value for d in at.dataframe if "receptive field" in d.value.columns][0]
    assert "81×81" in table["receptive field"].tolist()


def _chart_titles(at) -> str:
    return " ".join(str(c.proto.spec) for c in at.get("plotly_chart"))


def test_gradcam_page_mnist_every_layer(data_available):
    at = run("pages/gradcam.py", gc_dataset="MNIST")
    layers = at.selectbox(key="gc_layer_mnist").options
    assert len(layers) == 6
    assert "Guided Grad-CAM" in _chart_titles(at) and "re-initialised" in _chart_titles(at)
    for i in range(len(layers) - 1):
        at = run("pages/gradcam.py", gc_dataset="MNIST", gc_layer_mnist=layers[i])
        assert "Grad-CAM for" in _chart_titles(at)


def test_gradcam_page_with_your_digit_and_another_class():
    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[4:24, 13:16] = 255
    at = run("pages/gradcam.py", gc_dataset="MNIST", your_digit={"image": digit, "source": "your drawing"})
    assert at.radio(key="gc_source_mnist").value == "Your digit"
    target = [s for s in at.selectbox if s.key.startswith("gc_target_mnist")][0]
    target.set_value(8).run()
    assert not at.exception
    assert "Grad-CAM for “8”" in _chart_titles(at)


def test_gradcam_page_cifar_with_an_upload(data_available):
    import io

    from PIL import Image

    photo = Image.fromarray(np.random.default_rng(0).integers(0, 255, (120, 90, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG")
    at = run("pages/gradcam.py", gc_dataset="CIFAR-10", gc_source_cifar10="Upload a picture")
    at.file_uploader(key="gc_cifar10_upload").set_value(("photo.jpg", buffer.getvalue(), "image/jpeg")).run()
    assert not at.exception and not at.error
    assert any("resized from 90×120 to 32×32" in c.value for c in at.caption)
    assert len(at.selectbox(key="gc_layer_cifar10").options) == 19


def test_convolution_page_steps_and_agrees_with_conv2d(data_available):
    at = run("pages/convolution.py")
    assert any("✓" in m.value for m in at.markdown)            # formula == F.conv2d's shape
    step = [s for s in at.slider if s.key.startswith("cv_step_")][0]
    for position in (1, 100, step.max):
        step.set_value(position).run()
        assert not at.exception
        assert any("products add up to" in m.value for m in at.markdown)
    assert any("F.conv2d` gives" in m.value for m in at.markdown)   # the colour section's check
    assert any("the layer itself computes" in m.value for m in at.markdown)


@pytest.mark.parametrize("kernel", ["learned: GAP net conv1, filter 3", "blur (box)", "type your own"])
def test_convolution_page_kernels(kernel):
    at = run("pages/convolution.py", cv_kernel=kernel, cv_stride=2, cv_padding=1)
    assert any("✓" in m.value for m in at.markdown)


def test_convolution_page_with_a_single_window_position():
    at = run("pages/convolution.py", cv_crop=3)   # 3×3 input, 3×3 kernel: one position, which a slider cannot show
    assert any("Position of the window (steps, row by row): 1 (the only one there is)" in c.value for c in at.caption)
    assert any("Output (0, 0): the 9 products add up to" in m.value for m in at.markdown)


def test_convolution_page_explains_an_impossible_setting():
    at = run("pages/convolution.py", cv_crop=3, cv_dilation=2)
    assert any("cannot work" in e.value and "no position fits" in e.value for e in at.error)


def test_convolution_page_with_your_digit_and_stride_beyond_the_kernel():
    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[4:24, 13:16] = 255
    at = run("pages/convolution.py", your_digit={"image": digit, "source": "your drawing"}, cv_stride=4)
    assert at.radio(key="cv_source").value == "Your digit"
    assert any("are never seen by any window position" in w.value for w in at.warning)


def test_convolution_page_with_an_upload(data_available):
    at = run("pages/convolution.py", cv_source="Upload a picture")
    at.file_uploader(key="cv_upload").set_value(("digit.png", _png_of_test_digit(3), "image/png")).run()
    assert not at.exception and not at.error
    assert any("products add up to" in m.value for m in at.markdown)


@pytest.mark.parametrize("kernel, stride, message", [
    (1, 1, "uniform"), (3, 3, None), (2, 4, "never seen"), (7, 4, None),
])
def test_strides_page_extreme_settings(kernel, stride, message):
    at = run("pages/strides.py", sd_kernel=kernel, sd_stride=stride, sd_padding=0)
    assert any("The two agree: ✓" in m.value for m in at.markdown)
    if message:
        assert any(message in x.value for x in list(at.info) + list(at.warning))


def test_strides_page_counts_a_stride_one_stack_as_measured():
    at = run("pages/strides.py", sd_kernel=3, sd_stride=1, sd_padding=0, sd_depth=2)
    assert any("used 81 times (k² = 9 per layer, multiplied over 2 layers)" in i.value for i in at.info)
    at = run("pages/strides.py", sd_kernel=7, sd_stride=1, sd_padding=0, sd_depth=1, sd_size=8)
    assert not [i for i in at.info if i.value.startswith("Stride 1")]   # no pixel of 8 is in 7 windows of 7


def test_strides_page_stack_too_deep_for_the_input_gets_a_message():
    at = run("pages/strides.py", sd_kernel=7, sd_stride=4, sd_depth=3, sd_size=8)
    assert any("Nothing to show" in e.value for e in at.error)


def test_strides_page_trains_both_upsamplers_on_the_worker(data_available):
    at = run("pages/strides.py", sd_steps=50)
    at.button(key="sd_train").click().run()
    assert not at.exception
    run_until(at, lambda at: len([c for c in at.caption if "peak strength" in c.value]) == 2)
    peaks = [c.value for c in at.caption if "peak strength" in c.value]
    assert "transposed conv" in peaks[0] and "untrained" in peaks[0]
    assert any("Peak strength at period 2" in m.value for m in at.markdown)   # the ResNet's input gradient


def test_gradcam_page_without_imagenet_weights_says_how_to_get_them(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    at = run("pages/gradcam.py", gc_dataset="MNIST")
    assert "ImageNet ResNet-18" not in at.radio(key="gc_dataset").options
    assert any("once your teacher adds its weights" in c.value for c in at.caption)


def test_gradcam_page_with_imagenet_weights_in_the_hub_cache(monkeypatch, tmp_path, data_available):
    import torchvision

    from models import imagenet

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    imagenet.weights_path().parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18().state_dict(), imagenet.weights_path())   # stands in for the real file
    at = run("pages/gradcam.py", gc_dataset="ImageNet ResNet-18")
    assert at.selectbox(key="gc_layer_imagenet").options == ["layer1", "layer2", "layer3", "layer4"]
    assert "Grad-CAM for" in _chart_titles(at)
    assert len(at.dataframe[0].value) == 5   # top-5 of the 1000 classes


def test_a_stale_card_is_ignored_and_the_checkpoint_read(user_trained_mnist, monkeypatch):
    import json

    from ui import catalogue

    card_file = user_trained_mnist / "tiny.json"
    card = json.loads(card_file.read_text())
    card_file.write_text(json.dumps(card | {"name": "a lie", "sha256": "0" * 64}))
    monkeypatch.setenv("CNN_LAB_RUNS", str(user_trained_mnist))
    labels = [e.label for e in catalogue.catalogue()[0]]
    assert "my tiny net" in labels and "a lie" not in labels


def test_gradcam_page_cifar_every_layer(data_available):
    layers = run("pages/gradcam.py", gc_dataset="CIFAR-10").selectbox(key="gc_layer_cifar10").options
    for layer in layers:
        at = run("pages/gradcam.py", gc_dataset="CIFAR-10", gc_layer_cifar10=layer)
        assert "Grad-CAM for" in _chart_titles(at)


def test_strides_experiment_can_be_stopped(data_available):
    at = run("pages/strides.py", sd_steps=400)
    at.button(key="sd_train").click().run()
    run_until(at, lambda at: any(b.key == "sd_stop" for b in at.button))
    at.button(key="sd_stop").click().run()
    run_until(at, lambda at: any("stopped before it finished" in w.value for w in at.warning))


def test_batch_norm_page_trains_twins_and_shows_every_chart(data_available):
    at = run("pages/batch_norm.py", bn_steps=100, bn_record=20)
    assert len(at.metric) == 3 and at.metric[1].value != at.metric[0].value   # train vs eval mode differ
    table = [d.value for d in at.dataframe if "method" in d.value.columns][0]
    assert table["largest |mean| of a group"].abs().max() < 1e-4
    at.button(key="bn_train").click().run()
    run_until(at, lambda at: any("How far each layer" in m.value for m in at.markdown))
    titles = _chart_titles(at)
    assert "Test accuracy during training" in titles and "15–85% band" in titles and "Values entering" in titles
    shifts = [d.value for d in at.dataframe if "with BN" in d.value.columns][0]
    assert len(shifts) == 6 and (shifts["without BN"] > shifts["with BN"]).mean() >= 0.5


def test_batch_norm_page_states_the_confidences_it_shows():
    at = run("pages/batch_norm.py")
    eval_mode, train_mode = at.metric[0].value, at.metric[1].value
    assert f"goes from {eval_mode} in eval mode to {train_mode} with its batch norms in train mode" in \
        " ".join(m.value for m in at.markdown)
    assert run("pages/batch_norm.py").metric[1].value == train_mode   # dropout is off: the same every time


def test_batch_norm_page_spoiled_running_means_hurt():
    at = run("pages/batch_norm.py", bn_spoil=2.0)
    spoiled = float(at.metric[2].value.rstrip("%"))
    assert spoiled < 50


class _PlantedCode:
    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/cnn-lab-planted-code-ran",))


def test_app_survives_planted_broken_and_half_written_checkpoints(tmp_path, monkeypatch, user_trained_mnist):
    import pickle
    import shutil
    from pathlib import Path

    marker = Path("/tmp/cnn-lab-planted-code-ran")
    marker.unlink(missing_ok=True)
    runs = tmp_path / "runs"
    runs.mkdir()
    shutil.copy(user_trained_mnist / "tiny.pt", runs / "tiny.pt")
    with open(runs / "evil.pt", "wb") as f:
        pickle.dump({"format": "cnn-lab-checkpoint/1", "state_dict": _PlantedCode()}, f)
    (runs / "broken.pt").write_bytes((user_trained_mnist / "tiny.pt").read_bytes()[:700])
    (runs / ".tiny.pt.x1y2.tmp").write_bytes(b"half a file, the server was killed here")
    monkeypatch.setenv("CNN_LAB_RUNS", str(runs))

    at = run("app.py")
    warnings = " ".join(shown(w.value) for w in at.sidebar.warning)
    assert "evil.pt was refused" in warnings and "broken.pt" in warnings
    options = at.sidebar.selectbox(key="model_mnist").options
    assert any("my tiny net" in o for o in options) and len(options) == 2   # shipped + tiny
    assert not marker.exists()


@pytest.fixture
def app_tests_in_threads(monkeypatch):
    """Let AppTests run side by side in threads, as sessions do in the server.

    AppTest installs a mock Runtime in the class attribute Runtime._instance when a run starts,
    sets it back to None when the run ends, and sets the option global.appTest only for its run.
    Two runs in threads would pull both from under each other ("Runtime hasn't been created!").
    Here the last runtime installed stays until the test ends, and global.appTest stays on.
    Each AppTest also compiles its script itself, and Python 3.11's compiler is not safe in two
    threads at once ("AST constructor recursion depth mismatch"), so here they share one script
    cache, which compiles under a lock, as the server's single cache does."""
    from streamlit.runtime import Runtime
    from streamlit.testing.v1 import app_test, local_script_runner
    from streamlit.testing.v1.util import patch_config_options

    class KeepsTheRuntime(type):
        def __setattr__(cls, name, value):
            if name == "_instance":
                if value is not None:
                    Runtime._instance = value
                return
            super().__setattr__(name, value)

    class SharedRuntime(Runtime, metaclass=KeepsTheRuntime):
        pass

    shared_script_cache = app_test.ScriptCache()
    monkeypatch.setattr(Runtime, "_instance", None)
    monkeypatch.setattr(app_test, "Runtime", SharedRuntime)
    for module in (app_test, local_script_runner):   # each makes its own, and the runner compiles
        monkeypatch.setattr(module, "ScriptCache", lambda: shared_script_cache)
    with patch_config_options({"global.appTest": True}):
        yield


def test_threaded_app_tests_keep_their_runtime(app_tests_in_threads):
    """The fixture above works: a slow run still has its runtime after a quick run has ended."""
    import threading
    import time

    slow = ("import time, streamlit as st\nfrom streamlit.runtime import Runtime\n"
            "st.write(str(Runtime.exists()))\ntime.sleep(1.0)\nst.write(str(Runtime.exists()))")
    seen = {}

    def go(name, script):
        seen[name] = [m.value for m in AppTest.from_string(script, default_timeout=TIMEOUT).run().markdown]

    threads = [threading.Thread(target=go, args=("slow", slow)),
               threading.Thread(target=go, args=("quick", "import streamlit as st\nst.write('done')"))]
    for t in threads:
        t.start()
        time.sleep(0.2)
    for t in threads:
        t.join()
    assert seen == {"slow": ["True", "True"], "quick": ["done"]}


def test_sessions_do_not_see_each_other(data_available, app_tests_in_threads):
    """Eight sessions at once, each on its own test digit: every page shows its own maps,
    equal to what it shows when it runs alone."""
    import threading

    def maps_of(index):
        at = run("pages/feature_maps.py", fm_mnist_index=index, fm_layer_mnist=2)
        return [str(c.proto.spec) for c in at.get("plotly_chart")][:2], at.session_state["fm_mnist_index"]

    indices = list(range(8))
    alone = {i: maps_of(i) for i in indices}
    together, failures = {}, []

    def work(i):
        try:
            together[i] = maps_of(i)
        except BaseException as error:   # an assertion in a thread would otherwise only warn
            failures.append(f"session {i}: {error!r}")

    threads = [threading.Thread(target=work, args=(i,)) for i in indices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    for i in indices:
        assert together[i] == alone[i]
    assert len({alone[i][0][0] for i in indices}) == 8   # and they differ from each other


def test_with_a_teacher_key_students_cannot_start_training(monkeypatch, data_available):   # the button needs the data
    from models.jobs import worker

    monkeypatch.setenv("CNN_LAB_TEACHER_KEY", "owl")
    before = len(worker()._jobs)
    at = run("pages/strides.py", sd_steps=50)
    at.button(key="sd_train").click().run()
    assert any("for the teacher" in i.value for i in at.info)
    assert len(worker()._jobs) == before


def _unlock_script():
    import streamlit as st

    from ui.teacher import is_teacher, sidebar_unlock

    sidebar_unlock()
    st.write(f"teacher: {is_teacher()}")


def test_the_teacher_unlocks_with_the_key_and_can_train(monkeypatch, data_available):
    from ui import teacher

    monkeypatch.setenv("CNN_LAB_TEACHER_KEY", "owl")
    clock = [100.0]   # a wrong key makes the next try wait: let the test's clock move on
    monkeypatch.setattr(teacher.time, "monotonic", lambda: clock[0])
    at = AppTest.from_function(_unlock_script, default_timeout=TIMEOUT).run()
    assert at.markdown[-1].value == "teacher: False"
    at.sidebar.text_input(key="teacher_key_typed").input("cat")
    at.sidebar.button(key="teacher_unlock").click().run()
    assert any("not the teacher key" in e.value for e in at.sidebar.error)
    assert at.markdown[-1].value == "teacher: False"
    clock[0] += 10
    at.sidebar.text_input(key="teacher_key_typed").input("owl")
    at.sidebar.button(key="teacher_unlock").click().run()
    assert at.markdown[-1].value == "teacher: True"
    teacher_page = run("pages/strides.py", sd_steps=50, teacher_unlocked=True)
    from models.jobs import worker

    before = set(worker()._jobs)
    teacher_page.button(key="sd_train").click().run()
    (started,) = [job for job_id, job in worker()._jobs.items() if job_id not in before]
    assert re.fullmatch(r"teacher #[0-9a-f]{4}", started.owner_label) and started.slot == "sd"
    run_until(teacher_page, lambda at: len([c for c in at.caption if "peak strength" in c.value]) == 2)


def test_without_a_key_everyone_may_train(monkeypatch):
    monkeypatch.delenv("CNN_LAB_TEACHER_KEY", raising=False)
    at = run("app.py")
    assert not [t for t in at.sidebar.text_input if t.key == "teacher_key_typed"]


def test_worker_page_shows_the_queue():
    import threading
    import time

    from models.jobs import worker

    release = threading.Event()
    blocker = worker().submit("a long demo run", "teacher-session", lambda ctx: release.wait(10))
    while blocker.status != "running":
        time.sleep(0.01)
    waiting = worker().submit("a student's run", "student-session", lambda ctx: None)
    try:
        at = run("pages/worker.py")
        text = " ".join(m.value for m in at.markdown) + " ".join(str(e.proto) for e in at.get("progress"))
        assert "Queue:" in text and "a long demo run" in text
        assert any("a student's run (started by student-session)" in m.value for m in at.markdown)
    finally:
        worker().stop(waiting.id)
        release.set()


@pytest.mark.parametrize("stem", ["3×3 · ResNet-20 (CIFAR-10)", "3×3 · GAP MNIST net", "7×7 · ResNet-20, 7×7 stem",
                                  "11×11 · ResNet-20, 11×11 stem"])
def test_kernels_page_for_each_stem(stem, data_available, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))   # no ImageNet cache
    at = run("pages/kernels.py", kn_stem=stem)
    titles = _chart_titles(at)
    assert "before training" in titles and "activation maximisation" in titles
    assert "after training" in titles   # every stem ships trained


def test_kernels_page_without_a_trained_stem_says_how_to_train_one(monkeypatch, data_available):
    from ui import catalogue

    real_shipped = catalogue.shipped
    monkeypatch.setattr(catalogue, "shipped", lambda name: None if "_k7_" in name else real_shipped(name))
    at = run("pages/kernels.py", kn_stem="7×7 · ResNet-20, 7×7 stem")
    assert "before training" in _chart_titles(at) and "after training" not in _chart_titles(at)
    three = real_shipped("resnet20_cifar10.pt")
    recipe = three.label.replace("resnet20", "resnet20-k7")   # the shipped 3x3 net's recipe, with a 7x7 stem
    assert any("No trained ResNet" in c.value and f"models.train {recipe} " in c.value for c in at.caption)
    from ui.text import plain

    # how long it takes is read off the shipped 3×3 net, not guessed
    assert any(f"took {plain(three.trained_on)}" in c.value for c in at.caption)


def test_kernels_page_says_when_a_stem_was_trained_with_another_recipe(monkeypatch, data_available):
    import dataclasses

    from ui import catalogue

    real_shipped = catalogue.shipped
    three = dataclasses.replace(real_shipped("resnet20_cifar10.pt"), label="resnet20-long", epochs=100)
    seven = dataclasses.replace(real_shipped("resnet20_k7_cifar10.pt"), label="resnet20-k7", epochs=30)
    eleven = dataclasses.replace(real_shipped("resnet20_k11_cifar10.pt"), label="resnet20-k11-long", epochs=100)
    nets = {"resnet20_cifar10.pt": three, "resnet20_k7_cifar10.pt": seven, "resnet20_k11_cifar10.pt": eleven}
    monkeypatch.setattr(catalogue, "shipped", nets.get)
    at = run("pages/kernels.py", kn_stem="11×11 · ResNet-20, 11×11 stem")   # trained alike: no warning
    assert "after training" in _chart_titles(at)
    assert not any("not trained alike" in c.value for c in at.caption)
    at = run("pages/kernels.py", kn_stem="7×7 · ResNet-20, 7×7 stem")
    assert "after training" in _chart_titles(at)
    assert any("not trained alike" in c.value and "resnet20-k7-long" in c.value and "100 epochs" in c.value
               for c in at.caption)


def test_kernels_page_with_the_imagenet_cache(monkeypatch, tmp_path, data_available):
    import torchvision

    from models import imagenet

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    imagenet.weights_path().parent.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), imagenet.weights_path())
    at = run("pages/kernels.py", kn_stem="7×7 · ResNet-18 (ImageNet)")
    assert "after training" in _chart_titles(at)


def test_kernels_page_rf_table_and_a_net_too_deep_for_its_input(data_available):
    at = run("pages/kernels.py")
    table = [d.value for d in at.dataframe if "receptive field" in d.value.columns][0]
    assert table["receptive field"].tolist()[:5] == [3, 5, 7, 9, 11]
    at = run("pages/kernels.py", kn_side=16, kn_depth=10, kn_pool=10)
    assert any("shrinks to nothing" in e.value for e in at.error)
    at = run("pages/kernels.py", kn_depth=1)   # one layer: the pooling can only follow it
    captions = " ".join(c.value for c in at.caption)
    assert "Max-pool after layer: 1 (the only one there is)" in captions
    assert "Shown: 1 3×3 layer with 32 kernels on a 400×400 input, max-pooling after layer 1" in captions


def test_lab_shows_a_broken_spec_at_its_layer():
    broken = [{"type": "conv", "out": 8, "kernel": 3}, {"type": "maxpool", "kernel": 2}] * 5 + [{"type": "gap"}]
    at = run("pages/lab.py", lab_spec=broken, lab_version=99)
    assert any(e.value.startswith("Layer 7 (conv)") and "shrunk below the kernel" in e.value for e in at.error)
    assert not at.get("plotly_chart")


def test_lab_with_no_layers_says_so_and_builds_again():
    at = run("pages/lab.py", lab_spec=[], lab_version=97)
    assert any("The net: the net has no layers" in e.value for e in at.error)
    at.selectbox(key="lab_new_type").set_value("conv")
    at.button(key="lab_edit_insert_above").click().run()
    assert not at.exception and [layer["type"] for layer in at.session_state["lab_spec"]] == ["conv"]


def test_lab_refuses_to_train_a_net_too_big_for_its_batch():
    wide = [{"type": "conv", "out": 512, "kernel": 1}] + [{"type": "relu"}] * 20 + [{"type": "conv", "out": 10, "kernel": 1},
                                                                                   {"type": "gap"}]
    at = run("pages/lab.py", lab_spec=wide, lab_version=96, lab_batch=512)
    assert any("cannot be trained here" in e.value and "batch size 512" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "lab_train"]
    at.select_slider(key="lab_batch").set_value(32).run()
    assert not at.error and [b for b in at.button if b.key == "lab_train"]


def test_lab_edits_survive_leaving_the_page_and_coming_back():
    from models.spec import to_json

    net = [{"type": "conv", "out": 8, "kernel": 3}, {"type": "relu"}, {"type": "conv", "out": 10, "kernel": 1},
           {"type": "gap"}]
    edited = [dict(net[0], out=12)] + net[1:]
    # What a session holds when it comes back: the spec it last loaded, the edited one in the link's
    # text, and no editor (Streamlit dropped it, and its edits, while another page ran).
    text = to_json(edited, compact=True)
    at = run("pages/lab.py", lab_spec=net, lab_version=5, lab_layers=text, lab_layers_shown=text)
    assert at.session_state["lab_spec"] == edited and at.metric[0].value == f"{12 * 9 + 12 + 12 * 10 + 10:,}"
    version = at.session_state["lab_version"]
    at.run()
    assert at.session_state["lab_version"] == version   # staying on the page does not rebuild the editor


def test_lab_sizes_a_spec_against_the_budget():
    fc_net = [{"type": "conv", "out": 8, "kernel": 3}, {"type": "relu"}, {"type": "fc", "out": 10}]
    at = run("pages/lab.py", lab_spec=fc_net, lab_version=98)
    assert at.metric[0].value == f"{8 * 9 + 8 + 8 * 26 * 26 * 10 + 10:,}"
    assert any("fully connected layer: **yes**" in c.value.lower() for c in at.caption)


def test_lab_trains_saves_and_other_pages_inspect_the_net(monkeypatch, tmp_path, data_available):
    from ui import catalogue

    monkeypatch.setenv("CNN_LAB_RUNS", str(tmp_path))
    at = run("pages/lab.py", lab_train_limit=1024, lab_epochs=1)
    at.button(key="lab_train").click().run()
    run_until(at, lambda at: bool(at.success))
    at.text_input(key="lab_name").input("class net 1")
    at.button(key="lab_save").click().run()
    assert any("Saved as “class net 1”" in s.value for s in at.success)
    entry = catalogue.find("class net 1")
    assert entry is not None and entry.dataset == "mnist"
    fm = run("pages/feature_maps.py", model_mnist=entry)
    assert "1-conv" not in fm.selectbox(key="fm_layer_mnist").format_func(0)   # names of ReLU layers
    assert "3-relu" in fm.selectbox(key="fm_layer_mnist").format_func(0)
    gc = run("pages/gradcam.py", gc_dataset="MNIST", model_mnist=entry)
    assert "Grad-CAM for" in _chart_titles(gc)


def test_lab_draws_live_curves_while_training_and_stops(monkeypatch, tmp_path, data_available):
    monkeypatch.setenv("CNN_LAB_RUNS", str(tmp_path))
    at = run("pages/lab.py", lab_train_limit=16384, lab_epochs=5, lab_batch=64)
    at.button(key="lab_train").click().run()
    run_until(at, lambda at: "training loss" in _chart_titles(at) and any(b.key == "lab_stop" for b in at.button))
    at.button(key="lab_stop").click().run()
    run_until(at, lambda at: bool(at.success) or any("stopped" in w.value for w in at.warning))


def test_plain_vs_residual_page_renders_the_shipped_runs(data_available):
    at = run("pages/plain_vs_residual.py")
    assert not at.warning, [w.value for w in at.warning]
    titles = _chart_titles(at)
    assert "Plain nets: training loss" in titles and "Residual nets: training loss" in titles
    assert "per convolution at initialisation, depth 56" in titles
    table = at.dataframe[0].value
    assert list(table["net"]) == ["plain-20", "plain-56", "ResNet-20", "ResNet-56"]
    from models.residual_study import compare_with_he_et_al, load_runs

    runs = load_runs()[0]
    comparisons = compare_with_he_et_al(runs)
    verdicts = at.dataframe[1].value
    assert list(verdicts["agrees"]) == ["yes" if c.agrees else "no" for c in comparisons]
    assert verdicts["training loss here"][0] == (f"{runs['plain56'].history[-1]['train_loss']:.3f} vs "
                                                 f"{runs['plain20'].history[-1]['train_loss']:.3f}: {comparisons[0].by_loss}")
    agreeing = sum(c.agrees for c in comparisons)
    assert any(m.value.startswith(f"These runs agree with He et al. on **{agreeing} of 4** comparisons")
               for m in at.markdown)
    at.radio(key="pr_metric").set_value("test error").run()
    assert "Plain nets: test error" in _chart_titles(at)

    shipped = runs["resnet56"]
    last_epoch = shipped.history[-1]["seconds"] - shipped.history[-2]["seconds"]
    at.selectbox(key="pr_net").set_value("resnet56").run()
    from ui.text import plain

    assert any(f"The shipped ResNet-56's last epoch took {last_epoch / (shipped.train_images / 1000):.1f} s per "
               f"1,000 images on {plain(shipped.device)}" in c.value for c in at.caption)


def _course_bar_section(at):
    """The table and the verdict of the plain-vs-residual page's course-bar section."""
    table = next(d.value for d in at.dataframe if "reaches 91%" in d.value.columns)
    verdict = next(m.value for m in at.markdown if "the course's 91%" in m.value or "None of the depths" in m.value)
    return table, verdict


def test_plain_vs_residual_states_which_shipped_depth_reaches_the_course_bar():
    from models.residual_study import deeper_runs, shallowest_at_bar

    at = run("pages/plain_vs_residual.py")
    runs = deeper_runs()[0]
    table, verdict = _course_bar_section(at)
    assert list(table["test accuracy"]) == [f"{r.test_accuracy:.2%}" for r in runs]
    assert list(table["reaches 91%"]) == ["yes" if r.test_accuracy >= 0.91 else "no" for r in runs]
    shallowest = shallowest_at_bar(runs)
    assert shallowest is not None   # the course's bar is met by a shipped net (issue 18)
    assert f"**{shallowest.title}** is the shallowest that reaches the course's 91%: " \
           f"**{shallowest.test_accuracy:.2%}**" in verdict
    resnet20 = max((r for r in runs if r.depth == 20), key=lambda r: r.test_accuracy)
    assert f"ResNet-20 {resnet20.test_accuracy:.2%}" in verdict    # both figures stated
    assert "Test accuracy after each epoch" in _chart_titles(at)


def test_plain_vs_residual_course_bar_verdict_follows_the_shipped_nets(tmp_path, monkeypatch):
    import streamlit as st

    from models import residual_study
    from tests.test_residual_study import save_resnet

    monkeypatch.setattr(residual_study, "CHECKPOINTS", tmp_path)
    save_resnet(tmp_path / "r20.pt", 0.8889, depth=20)
    save_resnet(tmp_path / "r32.pt", 0.9005, depth=32)
    table, verdict = _course_bar_section(run("pages/plain_vs_residual.py"))
    assert list(table["net"]) == ["ResNet-20", "ResNet-32"] and list(table["reaches 91%"]) == ["no", "no"]
    assert verdict == ("None of the depths shipped here (20, 32 layers) reaches the course's 91%: the best is "
                       "ResNet-32 at **90.05%**.")
    save_resnet(tmp_path / "r44.pt", 0.9120, depth=44)
    st.cache_data.clear()
    _, verdict = _course_bar_section(run("pages/plain_vs_residual.py"))
    assert verdict.startswith("Of the depths shipped here (20, 32, 44 layers), **ResNet-44** is the shallowest that "
                              "reaches the course's 91%: **91.20%**, with ")
    assert verdict.endswith("The shallower ones, at their best: ResNet-20 88.89%, ResNet-32 90.05%.")
    for path in tmp_path.glob("*.pt"):
        path.unlink()
    st.cache_data.clear()
    at = run("pages/plain_vs_residual.py")
    assert any("No CIFAR-10 ResNet with a 3×3 stem ships" in i.value for i in at.info)


def test_plain_vs_residual_trains_one_again_live(data_available):
    at = run("pages/plain_vs_residual.py", pr_net="plain20", pr_epochs=1, pr_images=2_000)
    at.button(key="pr_train").click().run()
    run_until(at, lambda at: bool(at.success), timeout=300)
    assert "plain-20: training loss" in at.success[0].value and "after 1 epoch," in at.success[0].value
    assert "Training loss: this run and the shipped one" in _chart_titles(at)
