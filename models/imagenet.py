"""torchvision's ImageNet ResNet-18 (and AlexNet's first-layer kernels), used only where their
weights are already in the local torch hub cache (a machine with internet fetches them once);
nothing is downloaded here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision.models import AlexNet_Weights, ResNet18_Weights

from models.checkpoints import CheckpointError, check_fits

WEIGHTS = ResNet18_Weights.IMAGENET1K_V1
ALEXNET_WEIGHTS = AlexNet_Weights.IMAGENET1K_V1
BUILDERS = {WEIGHTS: "resnet18", ALEXNET_WEIGHTS: "alexnet"}   # weights -> torchvision builder
FIRST_LAYER = {WEIGHTS: "conv1.weight", ALEXNET_WEIGHTS: "features.0.weight"}
INPUT_SIDE = 224
HOW_TO_GET = (
    "On a machine with internet, run once: `python -c \"import torchvision; "
    "torchvision.models.{builder}(weights='IMAGENET1K_V1')\"` — the weights land in "
    "`{hub}/checkpoints/{file}` (copy that file to this machine's "
    "torch hub folder)."
)


def weights_path(weights=WEIGHTS) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def available(weights=WEIGHTS) -> bool:
    return weights_path(weights).is_file()


def how_to_get(weights=WEIGHTS) -> str:
    return HOW_TO_GET.format(builder=BUILDERS[weights], hub=torch.hub.get_dir(), file=Path(weights.url).name)


def first_layer_kernels(weights=WEIGHTS) -> torch.Tensor:
    """The first convolution's kernels (out, 3, k, k) from the cached file, after the whole
    file was checked against a freshly built net (keys, shapes, dtypes, finite values)."""
    path = weights_path(weights)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:
        raise CheckpointError(f"{path.name} could not be read: {error}") from None
    with torch.device("meta"):   # only the shapes are needed to check the file
        net = getattr(torchvision.models, BUILDERS[weights])()
    check_fits(net, state, path.name)
    return state[FIRST_LAYER[weights]].detach().clone()


def load_resnet18() -> tuple[nn.Module, dict]:
    """(model in eval mode with non-inplace ReLUs, metadata like our checkpoints')."""
    path = weights_path()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(f"{path.name} could not be read: {error}") from None
    model = torchvision.models.resnet18()
    check_fits(model, state, path.name)
    model.load_state_dict(state)
    for module in model.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False   # hooks (Grad-CAM, guided backprop) need the values kept
    metadata = {
        "name": "ImageNet ResNet-18 (torchvision)", "dataset": "imagenet",
        "classes": list(WEIGHTS.meta["categories"]),
        "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
        "test_accuracy": WEIGHTS.meta["_metrics"]["ImageNet-1K"]["acc@1"] / 100,
    }
    return model.eval(), metadata


def to_input_size(picture: Image.Image) -> np.ndarray:
    """Resize the shorter side to 256 and crop the centre 224x224, as the weights expect."""
    picture = picture.convert("RGB")
    scale = 256 / min(picture.size)
    resized = picture.resize((max(INPUT_SIDE, round(picture.width * scale)),
                              max(INPUT_SIDE, round(picture.height * scale))), Image.BILINEAR)
    left = (resized.width - INPUT_SIDE) // 2
    top = (resized.height - INPUT_SIDE) // 2
    return np.asarray(resized.crop((left, top, left + INPUT_SIDE, top + INPUT_SIDE)))
