"""Every page, on every kind of net the sidebar can hold (issue 22): the shipped GAP net and
ResNets, and nets saved from the lab for MNIST and CIFAR-10 — with and without the layers a page
likes to show (a 1x1 conv, batch norm, a conv at all). Each run ends without an exception and
shows a chart or says in words why it cannot."""

import pytest
import streamlit as st
import torch

from ui.navigation import ALL_PAGES

# Pages that look inside the sidebar's MNIST or CIFAR-10 net, with the controls that select it.
USES = {
    "mnist": {"draw_digit": {}, "softmax": {}, "convolution": {}, "feature_maps": {"fm_dataset": "MNIST"},
              "kernels": {"kn_stem": "3×3 · GAP MNIST net"}, "gradcam": {"gc_dataset": "MNIST"}, "batch_norm": {},
              "activations": {}, "overfitting": {}},
    "cifar10": {"feature_maps": {"fm_dataset": "CIFAR-10"}, "gradcam": {"gc_dataset": "CIFAR-10"}, "strides": {}},
}
LAB_NETS = {
    "mnist": {
        "lab GAP net": [{"type": "conv", "out": 8, "kernel": 3, "bias": False}, {"type": "bn"}, {"type": "relu"},
                        {"type": "maxpool", "kernel": 2}, {"type": "conv", "out": 8, "kernel": 1},
                        {"type": "conv", "out": 10, "kernel": 3}, {"type": "gap"}],
        "lab net, no BN, 5x5": [{"type": "conv", "out": 6, "kernel": 5}, {"type": "relu"}, {"type": "maxpool"},
                                {"type": "conv", "out": 10, "kernel": 3}, {"type": "gap"}],
        "lab fully connected net": [{"type": "fc", "out": 32}, {"type": "relu"}, {"type": "fc", "out": 10}],
    },
    "cifar10": {
        "lab ResNet": [{"type": "conv", "out": 16, "kernel": 3, "padding": 1, "bias": False}, {"type": "bn"},
                       {"type": "relu"}, {"type": "residual", "out": 16}, {"type": "residual", "out": 32, "stride": 2},
                       {"type": "gap"}, {"type": "fc", "out": 10}],
        "lab conv + fc": [{"type": "conv", "out": 8, "kernel": 5}, {"type": "relu"}, {"type": "maxpool"},
                          {"type": "fc", "out": 10}],
    },
}


@pytest.fixture(scope="module")
def lab_nets(tmp_path_factory):
    """Nets saved as the lab saves them (untrained weights are enough to look inside)."""
    import os

    from models import build, checkpoints
    from models.data import NORMALISATION, CIFAR10_CLASSES, MNIST_CLASSES
    from models.spec import INPUT_SHAPES

    folder = tmp_path_factory.mktemp("runs")
    previous = os.environ.get("CNN_LAB_RUNS")
    os.environ["CNN_LAB_RUNS"] = str(folder)
    for dataset, nets in LAB_NETS.items():
        for name, layers in nets.items():
            torch.manual_seed(0)
            net = build("spec", layers=layers, input_shape=list(INPUT_SHAPES[dataset]))
            mean, std = NORMALISATION[dataset]
            checkpoints.save(folder / f"{name.replace(' ', '-')}.pt", net, arch="spec",
                             arch_kwargs={"layers": layers, "input_shape": list(INPUT_SHAPES[dataset])},
                             init_state_dict=net.state_dict(), metadata={
                                 "name": name, "dataset": dataset, "mean": list(mean), "std": list(std),
                                 "classes": list(MNIST_CLASSES if dataset == "mnist" else CIFAR10_CLASSES),
                                 "test_accuracy": None, "parameters": sum(p.numel() for p in net.parameters()),
                                 "epochs": 0, "train_seconds": 0.0, "device": "CPU"})
    yield folder
    if previous is None:
        os.environ.pop("CNN_LAB_RUNS", None)
    else:
        os.environ["CNN_LAB_RUNS"] = previous


def _entries(dataset):
    from ui import catalogue

    return [e for e in catalogue.catalogue()[0] if e.dataset == dataset]


def _shows_something(at) -> bool:
    return bool(at.get("plotly_chart") or at.info or at.warning or at.error or at.dataframe)


@pytest.mark.parametrize("page, dataset", [(page, dataset) for dataset, uses in USES.items() for page in uses])
def test_every_page_on_every_kind_of_net(page, dataset, lab_nets, data_available):
    from tests.test_presenter import open_page

    entries = _entries(dataset)
    labels = {e.label for e in entries}
    assert set(LAB_NETS[dataset]) <= labels, labels   # the lab's nets are in the sidebar
    if dataset == "cifar10":
        from ui import catalogue

        shipped = [catalogue.shipped(f"{name}_cifar10.pt") for name in ("resnet20", "resnet20_k7", "resnet20_k11")]
        assert None not in shipped and {e.label for e in shipped} <= labels   # the 3x3 net and both stems
    for entry in entries:
        st.cache_data.clear()
        at = open_page(page, **{f"model_{dataset}": entry, **USES[dataset][page]})
        assert not at.exception, (entry.label, [e.value for e in at.exception])
        assert _shows_something(at), entry.label


@pytest.mark.parametrize("page", [p.url_path for p in ALL_PAGES if not any(p.url_path in u for u in USES.values())])
def test_every_other_page_runs_beside_lab_nets(page, lab_nets):
    from tests.test_presenter import open_page

    at = open_page(page)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title
