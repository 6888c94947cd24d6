import pytest
import torch
from torch import nn

from models import build, count_parameters
from models.gap_mnist import GapMnistNet
from models.resnet import CifarResNet, cifar_resnet


def test_gap_net_is_small_and_has_no_fully_connected_layer():
    net = GapMnistNet()
    assert count_parameters(net) < 10_000
    assert not any(isinstance(m, nn.Linear) for m in net.modules())


def test_gap_net_outputs_log_probabilities():
    net = GapMnistNet().eval()
    out = net(torch.randn(5, 1, 28, 28))
    assert out.shape == (5, 10)
    torch.testing.assert_close(out.exp().sum(1), torch.ones(5))


def test_gap_net_variants():
    plain = GapMnistNet(batch_norm=False, dropout=0.0)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.Dropout)) for m in plain.modules())
    wide = GapMnistNet(widths=(16, 32, 16, 32))
    assert count_parameters(wide) > count_parameters(GapMnistNet())
    assert wide(torch.randn(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize("depth, params", [(20, 269_722), (32, 464_154), (56, 853_018)])
def test_resnet_parameter_counts(depth, params):
    # He et al. 2016, Table 6: ResNet-20 0.27M, ResNet-32 0.46M, ResNet-56 0.85M.
    assert count_parameters(cifar_resnet(depth)) == params


def test_plain_net_has_same_parameters_and_no_skips():
    residual, plain = cifar_resnet(20), cifar_resnet(20, residual=False)
    assert count_parameters(plain) == count_parameters(residual)
    plain.load_state_dict(residual.state_dict())
    x = torch.randn(2, 3, 32, 32)
    assert not torch.allclose(plain.eval()(x), residual.eval()(x))


@pytest.mark.parametrize("stem", [3, 7, 11])
def test_resnet_stem_kernels_keep_32x32(stem):
    net = cifar_resnet(20, stem_kernel=stem).eval()
    assert net.stem.weight.shape == (16, 3, stem, stem)
    after_stem = net.stem(torch.zeros(1, 3, 32, 32))
    assert after_stem.shape == (1, 16, 32, 32)
    assert net(torch.randn(3, 3, 32, 32)).shape == (3, 10)


def test_resnet_stage_shapes():
    net = cifar_resnet(20).eval()
    x = torch.randn(1, 3, 32, 32)
    x = net.relu(net.bn(net.stem(x)))
    shapes = []
    for stage in (net.layer1, net.layer2, net.layer3):
        x = stage(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]


def test_bad_depth_and_stem_are_refused():
    with pytest.raises(ValueError, match="6n\\+2"):
        cifar_resnet(21)
    with pytest.raises(ValueError, match="odd"):
        cifar_resnet(20, stem_kernel=4)
    with pytest.raises(ValueError, match="unknown architecture"):
        build("vgg")


def test_build_registry():
    assert isinstance(build("gap-mnist"), GapMnistNet)
    assert isinstance(build("cifar-resnet", depth=20, stem_kernel=7), CifarResNet)


def test_a_seeded_build_is_reproducible_and_leaves_the_random_state_alone():
    import torch

    from models import build, seeded

    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = seeded(lambda: build("gap-mnist"), 7)
    assert torch.equal(torch.rand(3), expected_next)          # others' draws are as if nothing happened
    second = seeded(lambda: build("gap-mnist"), 7)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
