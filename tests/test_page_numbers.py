"""The numbers and sentences students read, checked against torch, scipy and closed forms
(issue 22): the stable log-softmax, pixels no window sees, the course notes' receptive-field
rule beside the arithmetic, the Grad-CAM sanity verdict, and the net-agnostic view of nets."""

import itertools

import numpy as np
import pytest
import torch

from models import anatomy, build
from models.convolution import ConvSettingError, output_size, unseen_pixels, unseen_positions
from models.gradcam import rank_correlation
from models.kernels import course_table, size_table, teaching_net
from models.softmax import log_softmax
from models.spec import GAP_PRESET, RESNET20_PRESET


@pytest.mark.parametrize("largest", [1.0, 10.0, 100.0, 1e3, 5e3, 1e4])
def test_the_stable_column_is_within_two_float32_ulps_of_the_exact_value(largest):
    """Two ulps of float32 at the value's own size (at least 1: near 0 nothing in float32 is finer).
    The formula the page had, z - (m + log sum), was off by 6,000 ulps at m = 1e4."""
    rng = np.random.default_rng(int(largest))
    old_was_off = False
    for _ in range(50):
        scores = (largest - rng.uniform(0, 30, 10)).astype(np.float32)
        scores[rng.integers(10)] = largest
        ours = log_softmax(scores, dtype=np.float32).astype(np.float64)
        exact = torch.log_softmax(torch.tensor(scores, dtype=torch.float64), 0).numpy()
        ulp = np.spacing(np.maximum(np.abs(exact), 1.0).astype(np.float32)).astype(np.float64)
        assert (np.abs(ours - exact) <= 2 * ulp).all(), (largest, np.abs(ours - exact) / ulp)
        z = scores.astype(np.float32)
        old = z - (z.max() + np.log(np.exp(z - z.max()).sum()))
        old_was_off |= bool((np.abs(old - exact) > 2 * ulp).any())
    assert old_was_off or largest < 1e4   # at m = 1e4 the check catches the old formula


def test_every_setting_with_an_unseen_pixel_is_found():
    for size, kernel, stride, padding, dilation in itertools.product(range(4, 12), range(1, 6), range(1, 6),
                                                                     range(0, 3), range(1, 4)):
        try:
            output_size(size, kernel, stride, padding, dilation)
        except ConvSettingError:
            continue
        x = torch.ones(1, 1, size, size, requires_grad=True)
        torch.nn.functional.conv2d(x, torch.ones(1, 1, kernel, kernel), stride=stride, padding=padding,
                                   dilation=dilation).sum().backward()
        unseen = int((x.grad == 0).sum())
        assert unseen_pixels(size, kernel, stride, padding, dilation) == unseen
        rows = [r for r in range(size) if (x.grad[0, 0, r] == 0).all()]
        assert unseen_positions(size, kernel, stride, padding, dilation) == rows


def test_the_course_notes_rule_beside_the_arithmetic():
    rows = course_table([32, 64, 128, 256, 512, 512, 512, 512, 512], (5, 9), 400)
    notes = [r["course notes' rule"] for r in rows]
    assert notes[:5] == [3, 5, 7, 9, 11] and notes[5] == 22        # the notes double at the pool
    assert notes[7:11] == [24, 26, 28, 30] and notes[11] == 60     # ... add 2 per 3x3, then 60
    assert [r["receptive field"] for r in rows][:7] == [3, 5, 7, 9, 11, 12, 12]   # the arithmetic
    assert [r["receptive field"] for r in rows][7:11] == [16, 20, 24, 28]
    # ... and the arithmetic equals the receptive-field code on the built net:
    for widths, pools, side in [((32, 64, 128, 256, 512), (5,), 64), ((8, 8, 8), (1, 3), 40)]:
        measured = size_table(teaching_net(widths, pool_after=pools), (3, side, side))
        worked = [{k: v for k, v in row.items() if k != "course notes' rule"} for row in course_table(widths, pools, side)]
        assert worked == measured


def test_the_sanity_verdict_is_spearmans_rank_correlation():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    for _ in range(10):
        a, b = rng.random((8, 8)), rng.random((8, 8))
        a[a < 0.4] = 0   # ties, as heatmaps with empty parts have
        assert rank_correlation(torch.tensor(a), torch.tensor(b)) == pytest.approx(spearmanr(a.ravel(), b.ravel())[0])
    heat = torch.rand(6, 6)
    assert rank_correlation(heat, 3 * heat + 1) == pytest.approx(1.0)


@pytest.mark.parametrize("net, first, mixes, norms", [
    (lambda: build("gap-mnist"), "conv1.0", ["transition.1", "classifier"], 6),
    (lambda: build("cifar-resnet", depth=20), "stem", [], 19),
    (lambda: build("spec", layers=GAP_PRESET, input_shape=[1, 28, 28]), "1-conv", ["10-conv", "27-conv"], 6),
    (lambda: build("spec", layers=RESNET20_PRESET, input_shape=[3, 32, 32]), "1-conv", [], 19),
    (lambda: build("spec", layers=[{"type": "fc", "out": 10}], input_shape=[1, 28, 28]), None, [], 0),
])
def test_one_view_of_every_kind_of_net(net, first, mixes, norms):
    model = net()
    found = anatomy.first_conv(model)
    assert (found.name if found else None) == first
    assert [layer.name for layer in anatomy.channel_mixes(model)] == mixes
    assert len(anatomy.norm_layers(model)) == norms
    if mixes:
        x = torch.randn(1, 1, 28, 28)
        seen = anatomy.layer_input(model.eval(), mixes[0], x)
        assert seen.shape[1] == anatomy.module(model, mixes[0]).in_channels


def test_the_gradient_spread_reads_the_patch_it_is_given():
    from models.receptive_field import gradient_spread

    g = np.zeros((8, 8))
    g[2:5, 2:5] = 1.0
    g[3, 3] = 4.0            # the middle of the 3x3 patch at rows/cols 2..4
    spread = gradient_spread(g, (2, 2, 4, 4))
    assert spread.inside_share == 1.0 and spread.middle_mean == 4.0 and spread.edge_mean == 1.0
    assert spread.strongest_in_the_middle
    g[0, 0] = 12.0           # a quarter of the whole now lies outside
    assert gradient_spread(g, (2, 2, 4, 4)).inside_share == pytest.approx(12 / 24)
    assert gradient_spread(-g, (-3, -3, 1, 1)).inside_share == pytest.approx(12 / 24)   # patch past the border


def test_a_real_units_gradient_stays_inside_its_receptive_field():
    from models import checkpoints, data
    from models.inputs import net_input
    from models.probes import unit_input_gradient
    from models.receptive_field import gradient_spread, receptive_fields
    from tests.shipped import GAP_MNIST

    model, metadata = checkpoints.load(GAP_MNIST)
    image = data.load_sample("mnist").images[0, 0].numpy()
    fields = {f.name: f.field for f in receptive_fields(model, (1, 28, 28))}
    relus = [name for name, m in model.named_modules() if isinstance(m, torch.nn.ReLU)]
    for relu in relus[:3]:
        gradient = unit_input_gradient(model, net_input(image, metadata), relu, 8, 8).numpy()
        spread = gradient_spread(gradient, fields[relu].patch(8, 8))
        assert gradient.sum() > 0 and spread.inside_share > 0.999, relu
