import threading

import pytest
import torch
from torch import nn

from models.bn_shift import (
    TWINS, Recorder, activation_layers, normalisation_groups, normalise_by, train_twins, twin_nets,
)
from models.data import ImageSet


@pytest.fixture(scope="module")
def small_mnist(data_available):
    from models.data import load

    train_set, test_set = load("mnist", train=True), load("mnist", train=False)
    return (ImageSet("mnist", train_set.images[:2000], train_set.labels[:2000], train_set.classes),
            ImageSet("mnist", test_set.images[:500], test_set.labels[:500], test_set.classes))


@pytest.mark.parametrize("kind", TWINS)
def test_twins_share_their_initial_weights(kind):
    with_bn, without_bn = twin_nets(kind, seed=3)
    weighted = (nn.Conv2d, nn.Linear)
    pairs = list(zip([m for m in with_bn.modules() if isinstance(m, weighted)],
                     [m for m in without_bn.modules() if isinstance(m, weighted)]))
    assert len(pairs) >= 4
    for a, b in pairs:
        assert torch.equal(a.weight, b.weight)
    assert any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in with_bn.modules())
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in without_bn.modules())
    assert len(activation_layers(with_bn)) == len(activation_layers(without_bn))


def test_recorder_percentiles_match_torch_quantile():
    net = nn.Sequential(nn.Linear(20, 30), nn.ReLU(), nn.Linear(30, 5), nn.Sigmoid())
    recorder = Recorder(net)
    x = torch.randn(64, 20)
    recorder.on = True
    net(x)
    pre = net[0](x)
    expected = torch.quantile(pre.flatten(), torch.tensor([0.15, 0.5, 0.85]))
    torch.testing.assert_close(torch.tensor(recorder.snapshot["1"]["percentiles"]), expected)
    assert recorder.snapshot["1"]["sample"].shape == (512,)
    recorder.remove()
    assert not net[1]._forward_hooks


def test_bn_outputs_are_standardised_in_train_mode():
    with_bn, _ = twin_nets(TWINS[0])
    with_bn.train()
    captured = {}
    bn = with_bn.conv2[1]
    bn.register_forward_hook(lambda m, i, o: captured.setdefault("out", o.detach()))
    with_bn(torch.randn(32, 1, 28, 28) * 3 + 1)
    out = captured["out"].transpose(0, 1).flatten(1)   # per channel
    torch.testing.assert_close(out.mean(1), torch.zeros(out.shape[0]), atol=1e-4, rtol=0)
    torch.testing.assert_close(out.std(1, unbiased=False), torch.ones(out.shape[0]), atol=1e-3, rtol=0)


def test_short_run_records_both_nets_and_repeats_exactly(small_mnist):
    train_set, test_set = small_mnist
    first = train_twins(TWINS[1], train_set, test_set, steps=40, record_every=10, test_images=200)
    second = train_twins(TWINS[1], train_set, test_set, steps=40, record_every=10, test_images=200)
    assert first.steps == [0, 10, 20, 30, 40]
    for name in ("with BN", "without BN"):
        history = first.nets[name]
        assert len(history.test_accuracy) == 5
        assert all(len(rows) == 5 for rows in history.percentiles.values())
        assert history.percentiles == second.nets[name].percentiles
        assert history.test_accuracy == second.nets[name].test_accuracy


def test_stop_keeps_the_history_so_far(small_mnist):
    train_set, test_set = small_mnist
    stop = threading.Event()

    def report(step, steps, fraction):
        if step == 25:
            stop.set()

    history = train_twins(TWINS[0], train_set, test_set, steps=1000, record_every=10, report=report,
                          stop=stop, test_images=100)
    assert history.stopped and history.steps == [0, 10, 20]
    assert len(history.nets["with BN"].test_accuracy) == 3


@pytest.mark.parametrize("method", ["BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm"])
def test_each_normalisation_standardises_its_own_groups(method):
    x = torch.randn(4, 6, 5, 5) * 3 + 2
    y = normalise_by(method, x, groups=2)
    ids = normalisation_groups(method, 4, 6, groups=2)
    for group in ids.unique():
        values = y.permute(0, 1, 2, 3)[ids == group].flatten()
        assert abs(values.mean().item()) < 1e-4 and abs(values.std(unbiased=False).item() - 1) < 1e-3


def test_history_json_round_trips(small_mnist):
    import json

    from models.bn_shift import history_as_json

    train_set, test_set = small_mnist
    history = train_twins(TWINS[1], train_set, test_set, steps=20, record_every=10, test_images=100)
    saved = json.loads(history_as_json(history))
    assert saved["steps"] == [0, 10, 20]
    assert saved["nets"]["with BN"]["test_accuracy"] == history.nets["with BN"].test_accuracy
