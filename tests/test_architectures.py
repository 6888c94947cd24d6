"""The famous architectures, measured: counts against torchvision's own nets, operations against
FlopCounterMode, receptive fields against the published ones, and the page in AppTest."""

import json

import pytest
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from models import architectures as arch
from models import build as build_course_net
from models import imagenet
from models.checkpoints import CheckpointError
from models.receptive_field import receptive_fields, stage_fields
from tests.apptest import fresh_caches, run  # noqa: F401  (fresh_caches: autouse fixture)
from viz.architectures import accuracy_against_cost, parameter_kinds, si

TORCHVISION = {
    "alexnet": lambda: torchvision.models.alexnet(weights=None),
    "vgg16": lambda: torchvision.models.vgg16(weights=None),
    "googlenet": lambda: torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True),
    "resnet18": lambda: torchvision.models.resnet18(weights=None),
    "resnet50": lambda: torchvision.models.resnet50(weights=None),
    "gap-mnist": lambda: build_course_net("gap-mnist"),
    "cifar-resnet-20": lambda: build_course_net("cifar-resnet", depth=20),
}


@pytest.mark.parametrize("key", list(arch.NETS))
def test_parameter_counts_equal_the_real_nets(key):
    with torch.device("meta"):   # same shapes as on the CPU, no 550 MB for VGG-16
        real = TORCHVISION[key]()
    report = arch.report(key)
    assert report.total_params == sum(p.numel() for p in real.parameters())
    assert sum(report.params.values()) == report.total_params
    fc = sum(p.numel() for m in real.modules() if isinstance(m, nn.Linear) for p in m.parameters())
    assert report.params["fully connected"] == fc
    assert sum(s.params for s in report.stages) == report.total_params   # every layer in one stage
    if report.key in arch.IMAGENET_NETS:
        assert report.total_params == arch.NETS[key].weights.meta["num_params"]


def test_a_real_cpu_net_has_the_same_counts_as_the_meta_one():
    real = torchvision.models.resnet18(weights=None)
    assert arch.report("resnet18").total_params == sum(p.numel() for p in real.parameters())
    by_kind = arch.parameters_by_kind(real)
    assert by_kind["normalisation"] == sum(p.numel() for m in real.modules() if isinstance(m, nn.BatchNorm2d)
                                           for p in m.parameters())


def test_fc_shares_and_the_gap_head():
    vgg, alex = arch.report("vgg16"), arch.report("alexnet")
    assert vgg.fc_share == pytest.approx(123_642_856 / 138_357_544) and round(vgg.fc_share, 2) == 0.89
    assert vgg.fc_layers == 3 and vgg.head_channels == 512 and vgg.classes == 1000
    assert vgg.gap_head_params == vgg.params["convolution"] + 512 * 1000 + 1000 == 15_227_688
    assert alex.gap_head_params == alex.params["convolution"] + 256 * 1000 + 1000
    for key in ("googlenet", "resnet18", "resnet50", "gap-mnist", "cifar-resnet-20"):   # already GAP-headed
        assert arch.report(key).gap_head_params == arch.report(key).total_params
    assert arch.report("gap-mnist").fc_share == 0


@pytest.mark.parametrize("key", ["alexnet", "vgg16", "googlenet", "resnet18", "resnet50"])
def test_macs_equal_flop_counter_mode_on_meta(key):
    with torch.device("meta"):
        net = TORCHVISION[key]().eval()
    with FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, 3, 224, 224, device="meta"))
    report = arch.report(key)
    assert report.macs * 2 == counter.get_total_flops()
    assert sum(s.macs for s in report.stages) == report.macs
    assert round(report.macs / 1e9, 3) == arch.NETS[key].weights.meta["_ops"]   # torchvision's "GFLOPS" are MACs


@pytest.mark.parametrize("key, shape", [("gap-mnist", (1, 28, 28)), ("cifar-resnet-20", (3, 32, 32))])
def test_macs_equal_flop_counter_mode_on_a_real_forward(key, shape):
    net = TORCHVISION[key]().eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(torch.rand(1, *shape))
    assert arch.report(key).macs * 2 == counter.get_total_flops() > 0


def test_activation_memory_is_the_new_float_tensors_of_one_forward():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(8 * 4 * 4, 10)).eval()
    flops, written = arch.measure_forward(net, (3, 8, 8))
    # conv out 8x8x8 + pool out 8x4x4 + linear out 10 (in-place ReLU and the Flatten view write nothing)
    assert written == 4 * (8 * 8 * 8 + 8 * 4 * 4 + 10)
    assert flops["0"] == 2 * 8 * 8 * 8 * 27 and flops["4"] == 2 * 128 * 10
    assert arch.report("vgg16").activation_bytes > arch.report("alexnet").activation_bytes > 0


@pytest.mark.parametrize("key, stage, field", [
    ("alexnet", "features.12", 195),     # pool5
    ("vgg16", "features.30", 212),       # pool5
    ("resnet50", "layer4", 427),         # torchvision's (v1.5) ResNet-50
])
def test_published_receptive_fields(key, stage, field):
    report = arch.report(key)
    assert next(s for s in report.stages if s.name == stage).field == field
    net = TORCHVISION[key]().eval()   # on the CPU, traced with real tensors: the same
    assert stage_fields(net, (3, 224, 224), [stage])[stage].field.size == field


def test_stages_show_the_four_block_pattern():
    r18 = arch.report("resnet18")
    grids = arch.grid_channels(r18)
    assert [grids[n].out_shape for n in (56, 28, 14, 7)] == [(64, 56, 56), (128, 28, 28), (256, 14, 14), (512, 7, 7)]
    r50 = arch.grid_channels(arch.report("resnet50"))
    assert [r50[n].out_shape[0] for n in (56, 28, 14, 7)] == [256, 512, 1024, 2048]
    assert [r50[n].spatial_widths for n in (56, 28, 14, 7)] == [(64,), (128,), (256,), (512,)]
    assert not any(arch.grid_channels(arch.report("alexnet")).values())   # 55, 27, 13, 6
    vgg = arch.grid_channels(arch.report("vgg16"))   # its pooled block 2 hands on 56×56; block 3 works there
    assert [vgg[n] and vgg[n].spatial_widths for n in (56, 28, 14, 7)] == [(256,), (512,), (512,), None]
    googlenet = arch.grid_channels(arch.report("googlenet"))
    assert googlenet[56].out_shape[0] == 192
    alex = arch.report("alexnet").first_conv
    assert (alex.kernel, alex.stride, alex.out_side, alex.field, alex.params) == (11, 4, 55, 11, 3 * 64 * 121 + 64)
    stem = arch.report("resnet18").stages[0]
    assert stem.out_shape == (64, 56, 56) and stem.field == 11 and stem.jump == 4


def test_receptive_fields_follow_inception_concatenations_and_adaptive_pools():
    with torch.device("meta"):
        google = TORCHVISION["googlenet"]().eval()
    fields = stage_fields(google, (3, 224, 224), ["maxpool2", "inception3a"])
    # the widest branch: 1x1 then 3x3 at jump 8 adds 16 to the 27 px that reach the block
    assert fields["maxpool2"].field.size == 27 and fields["inception3a"].field.size == 27 + 2 * 8
    assert fields["inception3a"].kind == "cat" and fields["inception3a"].out_shape == (256, 28, 28)
    alex = {f.name: f for f in receptive_fields(TORCHVISION["alexnet"]().eval(), (3, 224, 224))}
    assert alex["avgpool"].field == alex["features.12"].field   # 6x6 -> 6x6: nothing changes
    with pytest.raises(KeyError, match="nowhere"):
        stage_fields(google, (3, 224, 224), ["nowhere"])


def test_stacked_3x3s_against_one_big_kernel():
    (two, five), (three, seven) = arch.stacked_versus_single(256, 56)
    assert (two.field, five.field, three.field, seven.field) == (5, 5, 7, 7)
    assert three.params == 3 * 9 * 256 * 256 and seven.params == 49 * 256 * 256
    assert three.macs == three.params * 56 * 56 and seven.macs == seven.params * 56 * 56


def test_inception_block_with_and_without_its_1x1_reductions():
    built, naive, paper, paper_naive = arch.inception_costs("inception3a")
    with torch.device("meta"):
        block = TORCHVISION["googlenet"]().inception3a.eval()
    with FlopCounterMode(display=False) as counter:
        block(torch.zeros(1, 192, 28, 28, device="meta"))
    assert built.macs * 2 == counter.get_total_flops()                  # the rebuilt block is torchvision's
    assert built.params == sum(p.numel() for p in block.parameters())
    positions = 28 * 28
    assert built.macs == positions * (192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 9 + 192 * 32)
    assert naive.macs == positions * (192 * 64 + 192 * 128 * 9 + 192 * 32 * 9)
    assert paper.macs == positions * (192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 25 + 192 * 32)
    assert paper_naive.macs == positions * (192 * 64 + 192 * 128 * 9 + 192 * 32 * 25)
    assert (built.out_channels, naive.out_channels) == (256, 416)
    assert arch.inception_input("inception3a") == (192, 28, 28)


def test_published_accuracies_are_torchvisions():
    expected = {"alexnet": 56.522, "vgg16": 71.592, "googlenet": 69.778, "resnet18": 69.758, "resnet50": 76.130}
    assert {key: arch.report(key).top1 for key in arch.IMAGENET_NETS} == expected
    assert arch.report("gap-mnist").top1 is None
    assert arch.human_top5() == pytest.approx(94.9)


def test_reports_are_computed_once_per_process():
    assert arch.report("vgg16") is arch.report("vgg16")
    assert arch.reports() is not None and arch.reports()[1] is arch.report("vgg16")


def test_charts_carry_the_numbers():
    fig = parameter_kinds(["a", "b"], [{"convolution": 30, "fully connected": 70}, {"convolution": 5}])
    assert [t.name for t in fig.data] == ["convolution", "fully connected"]
    assert list(fig.data[0].x) == [0.3, 1.0] and list(fig.data[1].x) == [0.7, 0.0]
    fig = accuracy_against_cost(["x", "y"], [1e9, 4e9], [10, 40], [60.0, 70.0], [80.0, 90.0], 94.9)
    bubbles = next(t for t in fig.data if (t.name or "").startswith("top-1"))
    assert list(bubbles.x) == [1.0, 4.0] and list(bubbles.y) == [60.0, 70.0]
    assert fig.layout.shapes[0].y0 == 94.9 and fig.layout.xaxis.type == "log"
    assert (si(138_357_544), si(15_470_264_320), si(9762), si(950)) == ("138M", "15.5G", "9.76k", "950")


def test_first_layer_kernels_from_the_hub_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert not imagenet.available(imagenet.ALEXNET_WEIGHTS)
    assert "alexnet(weights='IMAGENET1K_V1')" in imagenet.how_to_get(imagenet.ALEXNET_WEIGHTS)
    assert "resnet18(weights='IMAGENET1K_V1')" in imagenet.how_to_get()
    imagenet.weights_path().parent.mkdir(parents=True)
    state = torchvision.models.resnet18().state_dict()
    torch.save(state, imagenet.weights_path())
    assert torch.equal(imagenet.first_layer_kernels(), state["conv1.weight"])
    state["conv1.weight"] = torch.zeros(64, 3, 5, 5)
    torch.save(state, imagenet.weights_path())
    with pytest.raises(CheckpointError, match="conv1.weight"):
        imagenet.first_layer_kernels()


# --- The page ---------------------------------------------------------------------------------------

def _charts(at):
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_page_runs_and_shows_measured_numbers(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))   # no ImageNet weights
    at = run("pages/architectures.py")
    assert at.title[0].value == "Famous architectures, measured"
    titles = [c.get("layout", {}).get("title", {}).get("text", "") for c in _charts(at)]
    assert {"Parameters by kind of layer", "Accuracy against cost"} <= set(titles)
    tables = [d.value for d in at.dataframe]
    overview = next(t for t in tables if "FC share" in t.columns)
    vgg = overview.set_index("net").loc["VGG-16"]
    assert vgg["parameters"] == 138_357_544 and vgg["FC share"] == "89.4%" and vgg["with a GAP head"] == 15_227_688
    stages = next(t for t in tables if "receptive field (px)" in t.columns and "stage" in t.columns)
    assert stages["output"].tolist()[1:5] == ["56×56×64", "28×28×128", "14×14×256", "7×7×512"]   # ResNet-18
    text = " ".join(m.value for m in at.markdown)
    assert "hold **89%** of its 138M parameters" in text
    assert "ResNet-18 and ResNet-50 follow the pattern exactly" in text
    assert "top-5" in text and "Russakovsky" in text and "torchvision model zoo documentation" in text
    assert sum("not on this computer" in i.value for i in at.info) == 2   # AlexNet and ResNet-18, in words

    computed = (arch._cached_report.cache_info().misses, arch.inception_costs.cache_info().misses)
    at.selectbox(key="ar_net").set_value("alexnet").run()
    assert not at.exception
    assert (arch._cached_report.cache_info().misses, arch.inception_costs.cache_info().misses) == computed   # cached
    stages = next(d.value for d in at.dataframe if "stage" in d.value.columns)
    assert stages.set_index("stage").loc["conv5 + pool5", "receptive field (px)"] == "195"
    assert any("do not work at all four grids 56, 28, 14, 7: its stages' last k×k convolutions work at 55×55, 27×27, "
               "13×13." in m.value for m in at.markdown)


def test_page_shows_imagenet_kernels_where_the_weights_are(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    imagenet.weights_path().parent.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), imagenet.weights_path())   # stands in for the real file
    at = run("pages/architectures.py", ar_net="vgg16")
    titles = [c.get("layout", {}).get("title", {}).get("text", "") for c in _charts(at)]
    assert "ResNet-18: 64 kernels, 7×7" in titles
    assert [i.value for i in at.info if "not on this computer" in i.value][0].startswith("**AlexNet**")


def test_page_through_the_app_navigation():
    at = run("app.py")
    at.switch_page("pages/architectures.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Famous architectures, measured"
