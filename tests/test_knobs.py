"""The training-knob pages: every number they compute checked against torch, divergence
detected, the live experiments within budget, and each page in AppTest (live runs on the worker)."""

import json
import math

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch import nn

from models import budget, data, knobs
from models.augment import augment, cutout, random_affine
from models.bn_formula import as_features, bn_input, bn_layers, step_by_step
from models.gap_mnist import ACTIVATIONS, GapMnistNet
from models.init_study import INITS, activation_spread, channel_statistics, init_net, kernel_spread, spreads
from models.knobs_shipped import SWEEPS, load_shipped
from models.train import RECIPES, TrainConfig, train
from tests.apptest import fresh_caches, run, run_until  # noqa: F401  (fresh_caches: autouse fixture)
from tests.shipped import ROOT, shown

TIMEOUT = 120


# --- Dropout ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.1, 0.25, 0.5])
def test_dropout_in_numbers_is_torchs_own_dropout(p):
    x = torch.rand(8, 26, 26) * 3
    numbers = knobs.dropout_in_numbers(x, p, seed=7)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        expected = nn.Dropout(p).train()(x)
    torch.testing.assert_close(numbers["train_output"], expected, rtol=0, atol=0)
    kept = numbers["kept"]
    torch.testing.assert_close(numbers["train_output"][kept], x[kept] / (1 - p))   # survivors scaled by 1/(1-p)
    assert (numbers["train_output"][~kept] == 0).all()
    assert numbers["scale"] == pytest.approx(1 / (1 - p))
    assert numbers["zeroed_share"] == pytest.approx(1 - kept.float().mean().item())
    torch.testing.assert_close(numbers["eval_output"], nn.Dropout(p).eval()(x))   # evaluation: nothing changes
    torch.testing.assert_close(numbers["eval_output"], x)


def test_dropout_zeroes_a_share_p_and_keeps_the_mean():
    x = torch.rand(200_000) + 0.5
    for p in (0.1, 0.5):
        numbers = knobs.dropout_in_numbers(x, p, seed=1)
        assert numbers["zeroed_share"] == pytest.approx(p, abs=0.005)
        assert numbers["mean_train"] == pytest.approx(numbers["mean_before"], rel=0.01)


def test_first_activation_is_the_relu_output_of_the_net():
    torch.manual_seed(0)
    net = GapMnistNet().eval()
    x = torch.randn(1, 1, 28, 28)
    with torch.no_grad():
        expected = net.conv1[2](net.conv1[1](net.conv1[0](x)))
    torch.testing.assert_close(knobs.first_activation(net, x), expected)


# --- The batch-norm formula ------------------------------------------------------------------------------------


def _trained_like_bn(channels: int, two_d: bool = True) -> nn.Module:
    bn = nn.BatchNorm2d(channels) if two_d else nn.BatchNorm1d(channels)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(channels, generator=generator) + 0.5)
        bn.bias.copy_(torch.randn(channels, generator=generator))
        bn.running_mean.copy_(torch.randn(channels, generator=generator))
        bn.running_var.copy_(torch.rand(channels, generator=generator) + 0.2)
    return bn


@pytest.mark.parametrize("training", [True, False])
def test_bn_step_by_step_equals_batchnorm2d(training):
    x = torch.randn(16, 6, 9, 9) * 2.5 + 1.0
    for channel in range(6):
        steps = step_by_step(x, _trained_like_bn(6), channel, training)
        module = _trained_like_bn(6).train(training)      # torch's own layer, same parameters and statistics
        with torch.no_grad():
            y = module(x)[:, channel].flatten().double()
        torch.testing.assert_close(steps["y"], y, rtol=1e-5, atol=1e-5)
        assert steps["largest_difference"] < 1e-10       # against torch in float64
        assert steps["count"] == 16 * 9 * 9
        values = x[:, channel].double()
        if training:
            assert steps["mu"] == pytest.approx(values.mean().item())
            assert steps["var"] == pytest.approx(values.var(unbiased=False).item())
            # and the running statistics move as torch moves them
            assert steps["new_running_mean"] == pytest.approx(module.running_mean[channel].item(), abs=1e-6)
            assert steps["new_running_var"] == pytest.approx(module.running_var[channel].item(), abs=1e-6)
        else:
            assert steps["mu"] == pytest.approx(module.running_mean[channel].item())
            assert steps["var"] == pytest.approx(module.running_var[channel].item())


def test_bn_per_feature_pools_only_the_batch():
    bn = _trained_like_bn(5, two_d=False)
    x = torch.randn(12, 5) * 3
    steps = step_by_step(x, bn, 2, training=True)
    assert steps["count"] == 12
    with torch.no_grad():
        y = _trained_like_bn(5, two_d=False).train()(x)[:, 2].double()
    torch.testing.assert_close(steps["y"], y, rtol=1e-5, atol=1e-5)
    assert as_features(torch.ones(3, 5, 4, 4)).shape == (3, 5)


def test_bn_input_is_what_the_layer_receives():
    from models import checkpoints
    from tests.shipped import GAP_MNIST

    model, _ = checkpoints.load(GAP_MNIST)
    layers = bn_layers(model)
    assert layers[0] == "conv1.1" and len(layers) == 6
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        expected = model.eval().conv1[0](x)
    torch.testing.assert_close(bn_input(model, "conv1.1", x), expected)


# --- Normalisation constants and initialisation ----------------------------------------------------------------


def test_normalisation_constants_measured_on_mnist(data_available):
    mean, std = channel_statistics(data.load("mnist", train=True))
    assert mean[0] == pytest.approx(0.1307, abs=5e-5)
    assert std[0] == pytest.approx(0.3081, abs=5e-5)
    pixels = data.load("mnist", train=True).images.double() / 255
    assert std[0] == pytest.approx(pixels.std(unbiased=False).item(), rel=1e-9)


def test_normalisation_constants_per_channel_for_cifar(data_available):
    mean, std = channel_statistics(data.load("cifar10", train=False))
    used_mean, used_std = data.NORMALISATION["cifar10"]
    assert len(mean) == 3
    np.testing.assert_allclose(mean, used_mean, atol=0.01)    # the JPEG copy's test set, not the original train set
    np.testing.assert_allclose(std, used_std, atol=0.01)


def test_he_and_xavier_weights_have_their_formula_spread():
    torch.manual_seed(0)
    wide = nn.Conv2d(64, 64, 3)
    for scheme, expected in (("He (Kaiming) normal", math.sqrt(2 / (64 * 9))),
                             ("Xavier (Glorot) normal", math.sqrt(2 / (64 * 9 + 64 * 9)))):
        from models.init_study import initialise

        initialise(nn.Sequential(wide), scheme)
        assert wide.weight.std().item() == pytest.approx(expected, rel=0.03)
    net = init_net("zeros")
    assert all(row["largest |weight|"] == 0 for row in kernel_spread(net))


def test_activation_spreads_at_initialisation():
    torch.manual_seed(0)
    x = torch.randn(64, 1, 28, 28)
    labels = torch.randint(0, 10, (64,))
    found = {scheme: activation_spread(init_net(scheme), x, labels) for scheme in INITS}
    std = {scheme: [row["std"] for row in spread["layers"]] for scheme, spread in found.items()}
    assert all(s == 0 for s in std["zeros"])
    small, large, he = std[INITS[1]], std[INITS[4]], std["He (Kaiming) normal"]
    assert small[-1] < 1e-6 * small[0]          # fades layer after layer
    assert large[-1] > 100 * large[0]           # explodes
    assert 0.1 < he[-1] / he[0] < 10            # about flat
    # checked against a plain forward pass of the first block
    net = init_net("He (Kaiming) normal").eval()
    with torch.no_grad():
        conv1 = net.conv1(x)
    assert found["He (Kaiming) normal"]["layers"][0]["std"] == pytest.approx(conv1.double().std(unbiased=False).item())
    assert found["He (Kaiming) normal"]["loss"] is not None


def test_spreads_run_on_the_shipped_sample():
    found = spreads(data.test_images("mnist"), count=32)
    assert set(found) == set(INITS)


def test_symmetric_starts_stay_symmetric(data_available):
    from models.init_study import symmetry_runs

    train_set, test_set = data.subset(data.load("mnist", True), 512), data.subset(data.load("mnist", False), 256)
    result = symmetry_runs(train_set, test_set, epochs=1, batch_size=32)
    runs = {run["label"]: run for run in result["runs"]}
    assert all(row["largest difference between kernels"] == 0 for row in runs["zeros"]["after"])
    assert all(row["largest |weight|"] == 0 for row in runs["zeros"]["after"])              # nothing moved at all
    assert all(row["largest difference between kernels"] == 0 for row in runs["constant"]["after"][:-1])
    assert runs["constant"]["after"][0]["largest |weight|"] != pytest.approx(0.1)          # ...but they did learn
    assert all(row["largest difference between kernels"] > 0 for row in runs["He (Kaiming) normal"]["after"])


# --- Divergence --------------------------------------------------------------------------------------------------


def _small_sets(train_images=512, test_images=256):
    return data.subset(data.load("mnist", True), train_images), data.subset(data.load("mnist", False), test_images)


def test_a_huge_learning_rate_is_detected_and_stopped(data_available):
    train_set, test_set = _small_sets(1024)
    result = knobs.lr_sweep(train_set, test_set, [0.05, 1e4], epochs=2)
    sane, huge = result["runs"]
    assert not sane["diverged"] and sane["test_accuracy"] is not None
    assert huge["diverged"] and huge["why"] == "NaN"
    assert huge["steps"] < huge["total_steps"]              # stopped there, not run to the end
    assert huge["diverged_by_step"] <= huge["total_steps"]
    from viz.knobs import diverged_label

    assert diverged_label(huge) == "NaN: too high"


def test_train_reports_divergence():
    images = torch.randint(0, 256, (256, 1, 28, 28), dtype=torch.uint8)
    train_set = data.ImageSet("mnist", images, torch.randint(0, 10, (256,)), data.MNIST_CLASSES)
    torch.manual_seed(0)
    result = train(GapMnistNet(), train_set, None, TrainConfig(epochs=3, batch_size=16, lr=1e5, report_every=2,
                                                                augment=False))
    assert result.diverged and len(result.history) < 3


def test_range_test_finds_the_turn(data_available):
    train_set, _ = _small_sets(4096)
    result = knobs.lr_range_test(train_set, steps=100, batch_size=32)
    assert result["chosen_lr"] == pytest.approx(result["best_lr"] / 10)
    assert result["diverged_at"] is not None and result["steps"] < 100       # it ended at the blow-up
    assert result["lrs"][1] / result["lrs"][0] == pytest.approx((1e3 / 1e-4) ** (1 / 99))


# --- Schedules, batches, regularisation, augmentation -------------------------------------------------------


def test_the_drawn_schedule_is_the_one_train_runs():
    config = RECIPES["gap-mnist"].config
    curve = knobs.one_cycle_curve(config, total_steps=400)
    peak = int(np.argmax(curve["lr"]))
    assert curve["lr"][peak] == pytest.approx(config.lr)
    assert peak == pytest.approx(config.warmup_fraction * 400, abs=2)
    assert curve["lr"][0] == pytest.approx(config.lr / 25)
    assert curve["momentum"][peak] == pytest.approx(config.momentum - 0.05)


def test_batch_sweep_scales_the_learning_rate(data_available):
    train_set, test_set = _small_sets(1024)
    result = knobs.batch_sweep(train_set, test_set, [16, 64], scale_lr=True, base_lr=0.1, base_batch=64)
    small, large = result["runs"]
    assert small["lr"] == pytest.approx(0.025) and large["lr"] == pytest.approx(0.1)
    assert small["total_steps"] == 64 and large["total_steps"] == 16


def test_batch_sweep_refuses_a_batch_with_too_few_steps():
    images = torch.zeros(1024, 1, 28, 28, dtype=torch.uint8)
    tiny = data.ImageSet("mnist", images, torch.zeros(1024, dtype=torch.int64), data.MNIST_CLASSES)
    with pytest.raises(ValueError, match="too few steps"):
        knobs.batch_sweep(tiny, tiny, [512])


def test_early_stop():
    history = [{"epoch": e, "val_accuracy": v} for e, v in enumerate([0.5, 0.7, 0.8, 0.79, 0.78, 0.81, 0.8], 1)]
    assert knobs.early_stop(history, patience=2) == {"stop_epoch": 5, "best_epoch": 3, "best": 0.8, "patience": 2}
    assert knobs.early_stop(history, patience=3)["stop_epoch"] is None


def test_regularisation_measures_fit_and_validation(data_available):
    small, validation = knobs.split(data.load("mnist", True), (256, 128))
    assert not set(map(tuple, small.images.flatten(1)[:20].tolist())) & set(map(tuple, validation.images.flatten(1).tolist()))
    result = knobs.regularisation(small, validation, ["none", "all of them"], epochs=2)
    for row in result["runs"]:
        assert len(row["history"]) == 2
        assert {"fit_accuracy", "val_accuracy"} <= set(row["history"][0])
    assert result["runs"][1]["dropout"] == 0.1 and result["runs"][1]["cutout"] == 10


def test_cutout_and_the_unchanged_default_augmentation():
    images = torch.full((4, 1, 28, 28), 200.0)
    out = cutout(images, 10, torch.Generator().manual_seed(0))
    blackened = (out == 0).flatten(1).sum(1)
    assert ((0 < blackened) & (blackened <= 100)).all()
    a = augment("mnist", images, torch.Generator().manual_seed(1))
    b = random_affine(images, 10, 2, torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b)              # no Cutout by default: the training's draws are unchanged


# --- Activations and the linear collapse ------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_derivatives(name):
    x = torch.tensor([-2.0, -0.5, 0.5, 2.0])
    f, df = knobs.function_and_derivative(name, x)
    expected = {"relu": torch.tensor([0.0, 0, 1, 1]), "none": torch.ones(4),
                "sigmoid": torch.sigmoid(x) * (1 - torch.sigmoid(x)), "tanh": 1 - torch.tanh(x) ** 2,
                "leaky_relu": torch.tensor([0.01, 0.01, 1, 1]), "prelu": torch.tensor([0.25, 0.25, 1, 1]),
                "elu": torch.where(x > 0, torch.ones(4), torch.exp(x)),
                "swish": torch.sigmoid(x) * (1 + x * (1 - torch.sigmoid(x)))}[name]
    torch.testing.assert_close(df, expected)


def test_a_net_without_non_linearity_is_a_linear_classifier():
    torch.manual_seed(0)
    net = knobs.activation_net("none")
    with torch.no_grad():                       # give batch norm running statistics that are not 0 and 1
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
    weights, bias = knobs.linear_equivalent(net)
    assert weights.shape == (10, 784) and bias.shape == (10,)
    x = torch.randn(16, 1, 28, 28, dtype=torch.float64)
    with torch.no_grad():
        logits = net.double().eval().logits(x)
    torch.testing.assert_close(x.flatten(1) @ weights.T + bias, logits)
    relu = GapMnistNet().double().eval()       # the real net is not linear
    w, b = knobs.linear_equivalent(relu)
    with torch.no_grad():
        assert not torch.allclose(x.flatten(1) @ w.T + b, relu.logits(x))


def test_the_trained_linear_net_and_its_classifier_agree(data_available):
    train_set, test_set = _small_sets(1024, 500)
    result = knobs.activation_sweep(train_set, test_set, ["relu", "none"], epochs=1)
    linear = result["runs"][1]["linear"]
    assert linear["agreement"] == 1.0
    assert linear["accuracy"] == pytest.approx(result["runs"][1]["test_accuracy"], abs=0.005)
    assert np.asarray(linear["weights"]).shape == (10, 28, 28)


def test_gap_net_defaults_are_unchanged():
    default, explicit = GapMnistNet(), GapMnistNet(activation="relu", pool="max")
    assert list(default.state_dict()) == list(explicit.state_dict())
    assert isinstance(default.conv1[2], nn.ReLU) and isinstance(default.transition[0], nn.MaxPool2d)
    with pytest.raises(ValueError):
        GapMnistNet(activation="softmax")


def test_normalisation_runs_rescale_the_input(data_available):
    train_set, test_set = _small_sets(256, 128)
    raw = knobs.rescaled(train_set, (0.0,), (1 / 255,))
    from models.train import prepare_batch

    torch.testing.assert_close(prepare_batch(raw.images[:2], raw), raw.images[:2].float().contiguous(memory_format=torch.channels_last))
    result = knobs.normalisation_runs(train_set, test_set, epochs=1, batch_norm=True)
    assert [run["label"] for run in result["runs"]] == list(knobs.INPUT_SCALINGS)


# --- Budget and shipped sweeps ----------------------------------------------------------------------------------


def test_every_live_option_fits_the_budget():
    largest = {
        "lr_sweep": {"lrs": [1.0] * 4}, "lr_range_test": {}, "batch_sweep": {"scale_lr": True},
        "regularisation": {"variants": ["none", "all of them"], "epochs": 15}, "normalisation": {"batch_norm": False},
        "symmetry": {}, "activations": {"epochs": 2},
    }
    for name, settings in largest.items():
        assert knobs.live_work(name, **settings) <= budget.LIVE_BUDGET, name
    with pytest.raises(budget.BudgetError):
        knobs.run_live("regularisation", variants=list(knobs.REGULARISERS), epochs=50)


@pytest.mark.parametrize("name", list(SWEEPS))
def test_the_shipped_sweeps_are_there_and_plain_json(name):
    stored = load_shipped(name)
    assert stored is not None, f"run python -m models.knobs_shipped {name}"
    text = (ROOT / "checkpoints" / "knobs" / f"{name}.json").read_text()

    def refuse(constant):
        raise AssertionError(f"{name}.json holds {constant}: not plain JSON")

    json.loads(text, parse_constant=refuse)
    assert stored["seconds"] > 0 and stored["machine"]


def test_shipped_lr_sweep_has_a_diverged_run():
    runs = load_shipped("lr_sweep")["result"]["runs"]
    assert any(run["why"] == "NaN" for run in runs)
    assert any(run["test_accuracy"] and run["test_accuracy"] > 0.9 for run in runs)


# --- The pages ----------------------------------------------------------------------------------------------------


@pytest.fixture
def small_live_runs(monkeypatch):
    """Live experiments on a few hundred images, so the AppTests below finish in seconds."""
    smallest = {"lr_range_test": 60_000, "batch_sweep": 3072}   # the range test draws batches; batch 512 needs steps
    monkeypatch.setattr(knobs, "LIVE_SIZES", {name: (min(train, smallest.get(name, 512)), min(test, 256))
                                              for name, (train, test) in knobs.LIVE_SIZES.items()})


def chart_titles(at: AppTest) -> str:
    return " | ".join(json.loads(c.proto.spec).get("layout", {}).get("title", {}).get("text", "")
                      for c in at.get("plotly_chart"))


def train_and_wait(at: AppTest, key: str, done, timeout: float = 240) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return run_until(at, done, timeout)


def markdown(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def test_learning_rate_page_shows_the_shipped_runs():
    at = run("pages/learning_rate.py")
    titles = chart_titles(at)
    assert "Training loss at each peak learning rate (shipped runs)" in titles
    assert "range test" in titles and "one-cycle schedule" in titles and "(shipped runs)" in titles
    assert "NaN: too high" in " ".join(at.dataframe[0].value["outcome"])
    assert "the loss, last reported at step 75, turned **NaN** by step 80" in markdown(at)
    at.radio(key="lr_batch_scale").set_value("scaled with the batch").run()
    assert "learning rate scaled with the batch (shipped runs)" in chart_titles(at)


def test_learning_rate_page_trains_four_rates_live_and_reports_nan(data_available, small_live_runs):
    at = run("pages/learning_rate.py", lr_rate1=0.01, lr_rate2=0.1, lr_rate3=1.0, lr_rate4=1000.0)
    train_and_wait(at, "lr_train", lambda at: "(this run)" in chart_titles(at))
    table = [d.value for d in at.dataframe if "outcome" in d.value.columns][-1]
    assert list(table["peak learning rate"]) == [0.01, 0.1, 1.0, 1000.0]
    assert table["outcome"].iloc[3].endswith(": too high")     # NaN, or a loss that exploded in these few steps
    assert table["outcome"].iloc[0] == "finished"
    train_and_wait(at, "lr_range_train", lambda at: "The sweep ended at" in markdown(at)
                   and markdown(at).count("The smoothed loss was lowest") == 2)
    train_and_wait(at, "lr_batch_train", lambda at: "(this run)" in chart_titles(at).split("Test accuracy after")[-1])


def test_overfitting_page_dropout_numbers_and_augmentation():
    at = run("pages/overfitting.py", of_p=0.5)
    assert "held-out validation images (blue) (shipped runs)" in chart_titles(at)
    table = at.dataframe[0].value
    assert list(table["regulariser"]) == list(knobs.REGULARISERS)
    zeroed = float(at.metric[0].value.rstrip("%")) / 100
    assert 0.4 < zeroed < 0.6
    assert at.metric[3].value == "0"                       # evaluation mode changes nothing
    assert any("rounded to a multiple of 1/65,536 (0.5 → 0.5000000)" in shown(c.value) for c in at.caption)
    before = at.session_state["of_drop_seed"] if "of_drop_seed" in at.session_state else 0
    at.button(key="of_drop_random").click().run()
    assert at.session_state["of_drop_seed"] == before + 1
    assert "Through the training augmentation" in chart_titles(at)
    at.radio(key="of_aug_dataset").set_value("CIFAR-10").run()
    at.select_slider(key="of_cutout").set_value(10).run()
    assert not at.exception and "+ Cutout 10×10" in chart_titles(at)
    at.button(key="of_aug_random").click().run()
    assert at.session_state["of_aug_seed"] == 1


def test_overfitting_page_trains_live(data_available, small_live_runs):
    at = run("pages/overfitting.py", of_variant="dropout 0.1", of_epochs=5)
    train_and_wait(at, "of_train", lambda at: "(this run)" in chart_titles(at))
    table = [d.value for d in at.dataframe if "regulariser" in d.value.columns][-1]
    assert list(table["regulariser"]) == ["none", "dropout 0.1"]


def test_initialisation_page_constants_spreads_and_symmetry(data_available):
    at = run("pages/initialisation.py")
    constants = at.dataframe[0].value
    assert constants["mean, measured"].iloc[0] == pytest.approx(0.1307, abs=1e-4)
    assert constants["std, measured"].iloc[0] == pytest.approx(0.3081, abs=1e-4)
    titles = chart_titles(at)
    assert "Pixel values before and after normalisation" in titles and "spread at initialisation" in titles
    assert "first-layer kernels after training" in titles
    assert "every layer but the last ended with all its kernels identical" in markdown(at)
    # the shipped zeros run ends with even its classifier's kernels equal, the constant run with them apart
    assert "last layer's ten kernels ended different from constant:" in markdown(at)
    assert "From zeros even the last layer's kernels stayed identical." in markdown(at)
    at.radio(key="ii_bn").set_value("without batch norm").run()
    assert "Test accuracy, without batch norm (shipped runs)" in chart_titles(at)


def test_initialisation_page_trains_live(data_available, small_live_runs):
    at = run("pages/initialisation.py", ii_bn="without batch norm")
    train_and_wait(at, "ii_norm_train", lambda at: "without batch norm (this run)" in chart_titles(at))
    train_and_wait(at, "ii_sym_train", lambda at: "Test accuracy after training (this run)" in chart_titles(at))


def test_initialisation_page_per_channel_for_cifar(data_available):
    at = run("pages/initialisation.py", ii_dataset="CIFAR-10")
    assert list(at.dataframe[0].value["channel"]) == ["red", "green", "blue"]


def test_activations_page_functions_sweep_and_linear_classifier():
    at = run("pages/activations.py")
    titles = chart_titles(at)
    assert "Each activation f and its derivative" in titles and "(shipped runs)" in titles
    assert "ten 28×28 templates" in titles
    table = at.dataframe[0].value
    sigmoid = table[table["function"] == "sigmoid"].iloc[0]
    assert sigmoid["largest f′ on [−4, 4]"] == pytest.approx(0.25, abs=1e-3)
    assert at.metric[2].value == "100.00%"       # W·x + b predicts what the net predicts


def test_activations_page_trains_live(data_available, small_live_runs):
    at = run("pages/activations.py")
    train_and_wait(at, "ac_train", lambda at: "(this run)" in chart_titles(at))
    assert "100.00%" in [m.value for m in at.metric]


def test_bn_formula_section_matches_torch():
    def page():
        from ui.bn_formula import show_bn_formula

        show_bn_formula()

    at = AppTest.from_function(page, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = markdown(at)
    difference = float(text.split("the largest difference between the formula and torch is **")[1].split("**")[0])
    assert difference < 1e-5
    assert "One channel of one batch, step by step" in chart_titles(at)
    at.radio(key="bnf_mode").set_value("evaluation").run()
    at.selectbox(key="bnf_layer").set_value("conv4.1").run()
    at.select_slider(key="bnf_batch").set_value(2).run()
    assert not at.exception
    assert "running averages" in at.dataframe[0].value["how"].iloc[1]


def _runs(*accuracies):
    return [{"label": f"run {i}", "test_accuracy": a} for i, a in enumerate(accuracies)]


def test_rankings_name_the_runs_too_close_to_the_best_to_call_apart():
    from ui.knob_runs import best_and_worst

    name = lambda run: run["label"]   # noqa: E731
    # at 98 % on 10,000 images, twice the standard error is 2·sqrt(0.98·0.02/10,000) = 0.28 points
    assert best_and_worst(_runs(0.980, 0.9775, 0.90), name, 10_000) == (
        "**run 0** did best (98.0%), with **run 1** within 0.3 points of it (the test set's sampling noise on "
        "10,000 images: too close to rank); **run 2** did worst (90.0%)")
    assert best_and_worst(_runs(0.980, 0.975, 0.90), name, 10_000) == \
        "**run 0** did best (98.0%); **run 2** did worst (90.0%)"
    assert best_and_worst(_runs(0.979, 0.977, 0.978), name, 10_000).startswith(
        "all 3 runs ended within 0.3 points of each other (97.7% to 97.9%)")
    assert "did worst" in best_and_worst(_runs(0.979, 0.977), name, 100_000)   # more images, finer noise
    assert best_and_worst(_runs(0.9, None), name, 10_000) == ""
