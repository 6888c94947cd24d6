import json

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from models import count_parameters
from models.gap_mnist import GapMnistNet
from models.spec import (GAP_PRESET, RESNET20_PRESET, Limits, SpecError, build, check, describe, from_json,
                         to_json, training_memory_mb, training_problem)

MNIST = (1, 28, 28)


def _messages(spec, shape=MNIST):
    return [(p.index, p.message) for p in check(spec, shape)]


def test_the_gap_preset_is_the_course_net():
    assert check(GAP_PRESET, MNIST) == []
    net = build(GAP_PRESET, MNIST)
    assert net(torch.zeros(2, *MNIST)).shape == (2, 10)
    reference = GapMnistNet(batch_norm=True)
    # the same layers, parameter for parameter (no bias in front of a batch norm)
    assert count_parameters(net) == count_parameters(reference) == 9_762
    assert [tuple(p.shape) for p in net.parameters()] == [tuple(p.shape) for p in reference.parameters()]
    assert sum(row["parameters"] for row in describe(GAP_PRESET, MNIST)) == count_parameters(net)


def test_the_resnet_preset_is_the_shipped_resnet20():
    from models import build
    from models.spec import RESNET20_PRESET

    net, reference = build_spec_net(RESNET20_PRESET), build("cifar-resnet", depth=20)
    assert count_parameters(net) == count_parameters(reference) == 269_722
    assert [tuple(p.shape) for p in net.parameters()] == [tuple(p.shape) for p in reference.parameters()]


def build_spec_net(layers):
    return build(layers, (3, 32, 32))


@pytest.mark.parametrize("layer, words", [
    ({"type": "conv", "out": 2048, "kernel": 3}, "out is 2,048; this classroom allows up to 512"),
    ({"type": "conv", "out": 8, "kernel": 31}, "kernel is 31"),
    ({"type": "conv", "out": 8, "kernel": 3, "padding": 500}, "padding is 500"),
    ({"type": "conv", "out": "<b>8</b>", "kernel": 3}, "out must be a number"),
    ({"type": "conv", "out": 8, "kernel": 3, "bias": "yes"}, "bias must be true or false"),
    ({"type": "conv", "out": 8, "kernel": 3, "style": "x"}, "has no setting “style”"),
    ({"type": "conv", "out": 8.5, "kernel": 3}, "out must be a whole number"),
])
def test_the_classroom_budget_is_checked_before_anything_is_built(layer, words, monkeypatch):
    import models.spec as spec_module

    monkeypatch.setattr(spec_module, "build", lambda *a: pytest.fail("built a net beyond the budget"))
    messages = _messages([layer, {"type": "gap"}])
    assert any(i == 0 and words in m for i, m in messages), messages


def test_the_budget_bounds_parameters_activations_and_depth():
    from models.spec import Limits

    wide = [{"type": "conv", "out": 512, "kernel": 3, "padding": 1}] * 12 + [{"type": "gap"}]
    (problem,) = check(wide, (3, 32, 32))
    assert problem.index == 2 and "parameters here; this classroom allows up to 3,000,000" in problem.message
    big_maps = [{"type": "conv", "out": 512, "kernel": 1}] * 40 + [{"type": "gap"}]
    (problem,) = check(big_maps, (3, 32, 32), Limits(parameters=10**9))
    assert "MB per image" in problem.message
    assert "up to 80" in check([{"type": "relu"}] * 81, MNIST)[0].message
    six = wide[:6] + [{"type": "conv", "out": 10, "kernel": 1}, {"type": "gap"}]
    assert "parameters here" in check(six, (3, 32, 32))[0].message
    assert check(six, (3, 32, 32), Limits().scaled(4)) == []   # a teacher may raise it


@pytest.mark.parametrize("spec, index, words", [
    ([{"type": "conv", "out": 8, "kernel": 15, "dilation": 2}, {"type": "gap"}], 0, "shrunk below the kernel"),
    ([{"type": "conv", "out": 8}, {"type": "maxpool"}] * 5 + [{"type": "gap"}], 6, "shrunk below the kernel"),
    ([{"type": "conv", "out": 10, "kernel": 3}], 0, "ends in a feature map"),
    ([{"type": "conv", "out": 12}, {"type": "gap"}], 1, "12 outputs; there are only 10"),
    ([{"type": "conv", "out": 4}, {"type": "gap"}], 1, "4 outputs but there are 10"),
    ([{"type": "fc", "out": 32}, {"type": "conv", "out": 10}], 1, "already flattened"),
    ([{"type": "fc", "out": 32}, {"type": "bn"}, {"type": "fc", "out": 10}], 1, "expects a feature map"),
    ([{"type": "pool"}], 0, "unknown layer type “pool”"),
    ([{"type": "conv", "kernel": 3}, {"type": "gap"}], 0, "missing setting 'out'"),
    ([{"type": "conv", "out": 0}, {"type": "gap"}], 0, "out must be at least 1"),
    ([{"type": "dropout", "p": 1.5}, {"type": "fc", "out": 10}], 0, "dropout p"),
    ([], -1, "no layers"),
])
def test_each_problem_is_named_at_its_layer(spec, index, words):
    messages = _messages(spec)
    assert any(i == index and words in m for i, m in messages), messages
    with pytest.raises(SpecError):
        build(spec, MNIST)


layer_strategy = st.one_of(
    st.builds(lambda out, k, s, p, d: {"type": "conv", "out": out, "kernel": k, "stride": s, "padding": p,
                                       "dilation": d},
              st.integers(1, 6), st.integers(1, 4), st.integers(1, 2), st.integers(0, 2), st.integers(1, 2)),
    st.just({"type": "bn"}), st.just({"type": "relu"}), st.just({"type": "dropout", "p": 0.1}),
    st.builds(lambda k: {"type": "maxpool", "kernel": k}, st.integers(1, 3)),
    st.builds(lambda out, s: {"type": "residual", "out": out, "stride": s}, st.integers(1, 6), st.integers(1, 2)),
)
head_strategy = st.sampled_from([
    [{"type": "gap"}, {"type": "fc", "out": 10}],
    [{"type": "conv", "out": 10, "kernel": 1}, {"type": "gap"}],
    [{"type": "fc", "out": 10}],
])


@settings(max_examples=80, deadline=None)
@given(st.lists(layer_strategy, max_size=6), head_strategy, st.integers(8, 28))
def test_sizes_and_parameters_agree_with_a_real_forward_pass(body, head, side):
    spec = body + head
    shape = (1, side, side)
    assume(check(spec, shape) == [])
    net = build(spec, shape).eval()
    rows = describe(spec, shape)
    assert sum(row["parameters"] for row in rows) == count_parameters(net)
    x = torch.zeros(2, *shape)
    with torch.no_grad():
        assert net(x).shape == (2, 10)
    assert rows[-1]["output"] == "10"


def test_json_round_trip_and_bad_files():
    assert from_json(to_json(GAP_PRESET)) == GAP_PRESET
    for bad, words in [("{not json", "not JSON"), (json.dumps([1, 2]), "not a CNN Lab net spec"),
                       (json.dumps({"format": "cnn-lab-spec/1", "layers": "conv"}), "list of layer objects"),
                       (b"\xff\xfe\x00", "not JSON"),
                       ('{"format": "cnn-lab-spec/1", "layers": ' + "[" * 5000 + "]" * 5000 + "}", "deeper"),
                       (json.dumps({"format": "cnn-lab-spec/1", "layers": [{"type": ["conv"]}]}), "word or a number")]:
        with pytest.raises(SpecError, match=words):
            from_json(bad)


def test_describe_gives_the_receptive_fields_of_the_real_net():
    rows = describe(GAP_PRESET, MNIST)
    convs = [r for r in rows if r["type"] == "conv"]
    assert [r["receptive field"] for r in convs] == [3, 5, 6, 10, 14, 18, 22, 22]
    assert convs[3]["jump"] == 2
    residual = describe([{"type": "residual", "out": 4, "stride": 2}, {"type": "gap"}, {"type": "fc", "out": 10}],
                        (3, 32, 32))
    assert residual[0]["receptive field"] == 7 and residual[0]["jump"] == 2   # 3x3 stride 2, then 3x3


def test_the_training_memory_of_a_batch_is_the_maps_and_their_gradients():
    one_map = 512 * 28 * 28
    wide = [{"type": "conv", "out": 512, "kernel": 1, "padding": 0}] + [{"type": "relu"}] * 3 + [{"type": "gap"}]
    # four maps of 512×28×28 and the pooled 512, each float32 with its gradient, for ten images
    assert training_memory_mb(wide, MNIST, 10) == pytest.approx(2 * (4 * one_map + 512) * 10 * 4 / 2**20)
    block = [{"type": "residual", "out": 16}, {"type": "gap"}]   # a block keeps its two convs and the sum
    assert training_memory_mb(block, MNIST, 1) == pytest.approx(2 * (3 * 16 * 28 * 28 + 16) * 4 / 2**20)


def test_a_net_too_big_to_train_at_its_batch_is_refused_before_it_is_queued():
    wide = [{"type": "conv", "out": 512, "kernel": 1}] + [{"type": "relu"}] * 20 + [{"type": "conv", "out": 10, "kernel": 1},
                                                                                   {"type": "gap"}]
    assert not [p for p in check(wide, MNIST) if "MB" in p.message]   # within the budget for one image
    assert training_problem(wide, MNIST, 32) is None
    refused = training_problem(wide, MNIST, 512)
    assert refused is not None and "batch size 512" in refused and "4,096 MB" in refused
    assert training_problem(wide, MNIST, 512, Limits().scaled(10)) is None    # a teacher may raise it
    for preset, shape in ((GAP_PRESET, MNIST), (RESNET20_PRESET, (3, 32, 32))):   # the presets train at every batch
        assert training_problem(preset, shape, 512) is None
