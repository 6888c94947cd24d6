import threading

import pytest
import torch
from torch import nn

from models import build
from models.gradcam import gradcam, gradcam_layers, gradcams, guided_gradcam, randomized_copy
from models.inference import class_scores


class QuadrantNet(nn.Module):
    """Channel c of the explained layer lives only in quadrant c of a 16x16 input; class 1's
    score reads channel 0 (the top-left quadrant) and class 0's score is minus that."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.relu = nn.ReLU()
        with torch.no_grad():
            self.conv.weight.fill_(0.1)
            self.conv.bias.zero_()
        mask = torch.zeros(4, 16, 16)
        for c, (rows, cols) in enumerate([(slice(0, 8), slice(0, 8)), (slice(0, 8), slice(8, 16)),
                                          (slice(8, 16), slice(0, 8)), (slice(8, 16), slice(8, 16))]):
            mask[c, rows, cols] = 1
        self.register_buffer("mask", mask)

    def forward(self, x):
        features = self.relu(self.conv(x) * self.mask)
        score = features[:, 0].mean((1, 2))
        return torch.stack([-score, score], dim=1)


def test_heatmap_shape_range_and_no_hooks_left():
    torch.manual_seed(0)
    model = build("cifar-resnet", depth=20).eval()
    x = torch.randn(1, 3, 32, 32)
    for layer in ("relu", "layer2.0.relu2", "layer3.2.relu2"):
        cam = gradcam(model, x, layer, target=3)
        assert cam.heatmap.shape == (32, 32)
        assert cam.heatmap.min() >= 0 and cam.heatmap.max() <= 1
        assert (cam.coarse >= 0).all()
    assert cam.coarse.shape == (8, 8)
    assert gradcam_layers(model)[-1] == "layer3.2.relu2"
    assert all(not m._forward_hooks and not m._backward_hooks for m in model.modules())


@pytest.mark.parametrize("arch, kwargs, shape", [("cifar-resnet", {"depth": 20}, (1, 3, 32, 32)),
                                                  ("gap-mnist", {}, (1, 1, 28, 28))])
def test_many_layers_and_classes_at_once_equal_captum_one_by_one(arch, kwargs, shape):
    from captum.attr import LayerAttribution, LayerGradCam

    torch.manual_seed(1)
    model = build(arch, **kwargs).eval()
    x = torch.randn(*shape)
    layers, targets = gradcam_layers(model), [0, 3, 7]
    maps = gradcams(model, x, layers, targets)
    assert len(maps) == len(layers) * len(targets)
    for layer in layers:
        for target in targets:
            module = dict(model.named_modules())[layer]
            expected = LayerGradCam(lambda inputs: class_scores(model, inputs), module).attribute(
                x.clone().requires_grad_(True), target=target, relu_attributions=True)
            cam = maps[(layer, target)]
            assert torch.allclose(cam.coarse, expected[0, 0], atol=1e-6, rtol=1e-4), (layer, target)
            upsampled = LayerAttribution.interpolate(expected, tuple(shape[-2:]), "bilinear")[0, 0].clamp(min=0)
            if upsampled.max() > 0:
                assert torch.allclose(cam.heatmap, upsampled / upsampled.max(), atol=1e-5)


def test_evidence_lies_in_the_quadrant_the_score_reads():
    model = QuadrantNet().eval()
    x = torch.rand(1, 1, 16, 16) + 0.1
    cam = gradcam(model, x, "relu", target=1)
    mass = cam.heatmap
    assert mass[:8, :8].sum() / mass.sum() > 0.95


def test_all_negative_weights_give_an_empty_map():
    model = QuadrantNet().eval()
    x = torch.rand(1, 1, 16, 16) + 0.1
    cam = gradcam(model, x, "relu", target=0)   # every channel's gradient weight is negative
    assert torch.count_nonzero(cam.heatmap) == 0 and torch.count_nonzero(cam.coarse) == 0


def test_guided_gradcam_has_the_input_size():
    model = QuadrantNet().eval()
    guided = guided_gradcam(model, torch.rand(1, 1, 16, 16) + 0.1, "relu", target=1)
    assert guided.shape == (16, 16) and guided.max() == pytest.approx(1.0)


def test_randomized_copy_changes_every_layer_and_not_the_original():
    torch.manual_seed(0)
    model = build("gap-mnist").eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    twin = randomized_copy(model)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])
    changed = [k for k, v in twin.state_dict().items() if k.endswith("weight") and "conv" in k
               and not torch.equal(v, before[k])]
    assert len(changed) >= 6


def test_concurrent_gradcams_equal_the_sequential_ones():
    torch.manual_seed(0)
    model = build("cifar-resnet", depth=20).eval()
    inputs = [torch.randn(1, 3, 32, 32) for _ in range(6)]
    expected = [gradcam(model, x, "layer3.2.relu2", target=i % 10).heatmap for i, x in enumerate(inputs)]
    results = [[] for _ in inputs]

    def work(i):
        for _ in range(4):
            results[i].append(gradcam(model, inputs[i], "layer3.2.relu2", target=i % 10).heatmap)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        assert len(got) == 4
        for heatmap in got:
            torch.testing.assert_close(heatmap, want)


def test_centre_share():
    from models.gradcam import centre_share

    assert centre_share(torch.ones(32, 32)) == pytest.approx(0.25)
    centred = torch.zeros(32, 32)
    centred[12:20, 12:20] = 1
    assert centre_share(centred) == 1.0


def test_shipped_resnet_looks_at_the_centred_object(data_available):
    """CIFAR-10 objects sit mostly in the middle of the picture. Over the first 200 test
    images the shipped ResNet-20 classifies correctly, Grad-CAM at the last stage puts clearly
    more than a quarter (the uniform share) of its mass in the central quarter."""
    from models import checkpoints, data
    from models.gradcam import centre_share
    from models.inference import predict
    from models.inputs import net_input
    from tests.shipped import RESNET20

    model, metadata = checkpoints.load(RESNET20)
    test_set = data.load("cifar10", train=False)
    shares = []
    for index in range(400):
        image = test_set.images[index].permute(1, 2, 0).numpy()
        x = net_input(image, metadata)
        if predict(model, x).top != int(test_set.labels[index]):
            continue
        shares.append(centre_share(gradcam(model, x, "layer3.2.relu2", int(test_set.labels[index])).heatmap))
        if len(shares) == 200:
            break
    assert len(shares) == 200
    assert sum(shares) / len(shares) > 0.35
