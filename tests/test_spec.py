import json

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from models import count_parameters
from models.gap_mnist import GapMnistNet
from models.spec import GAP_PRESET, SpecError, build, check, describe, from_json, to_json

MNIST = (1, 28, 28)


def _messages(spec, shape=MNIST):
    return [(p.index, p.message) for p in check(spec, shape)]


def test_the_gap_preset_is_the_course_net():
    assert check(GAP_PRESET, MNIST) == []
    net = build(GAP_PRESET, MNIST)
    assert net(torch.zeros(2, *MNIST)).shape == (2, 10)
    reference = GapMnistNet(batch_norm=True)
    # the preset's convs carry biases the class leaves out before BN; otherwise the same layers
    biases = sum(m.out_channels for m in net.modules() if isinstance(m, torch.nn.Conv2d))
    assert count_parameters(net) - biases == count_parameters(reference) - reference.classifier.out_channels
    assert sum(row["parameters"] for row in describe(GAP_PRESET, MNIST)) == count_parameters(net)


@pytest.mark.parametrize("spec, index, words", [
    ([{"type": "conv", "out": 8, "kernel": 30}, {"type": "gap"}], 0, "shrunk below the kernel"),
    ([{"type": "conv", "out": 8}, {"type": "maxpool"}] * 5 + [{"type": "gap"}], 6, "shrunk below the kernel"),
    ([{"type": "conv", "out": 10, "kernel": 3}], 0, "ends in a feature map"),
    ([{"type": "conv", "out": 12}, {"type": "gap"}], 1, "12 outputs; there are only 10"),
    ([{"type": "conv", "out": 4}, {"type": "gap"}], 1, "4 outputs but there are 10"),
    ([{"type": "fc", "out": 32}, {"type": "conv", "out": 10}], 1, "already flattened"),
    ([{"type": "fc", "out": 32}, {"type": "bn"}, {"type": "fc", "out": 10}], 1, "expects a feature map"),
    ([{"type": "pool"}], 0, "unknown layer type 'pool'"),
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
                       (b"\xff\xfe\x00", "not JSON")]:
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
