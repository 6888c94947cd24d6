"""torchvision's ImageNet ResNet-18, used only where its weights are already in the local
torch hub cache (a machine with internet fetches them once); nothing is downloaded here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision.models import ResNet18_Weights

from models.checkpoints import CheckpointError, check_fits

WEIGHTS = ResNet18_Weights.IMAGENET1K_V1
INPUT_SIDE = 224
HOW_TO_GET = (
    "On a machine with internet, run once: `python -c \"import torchvision; "
    "torchvision.models.resnet18(weights='IMAGENET1K_V1')\"` — the weights land in "
    f"`{{hub}}/checkpoints/{Path(WEIGHTS.url).name}` (copy that file to this machine's "
    "torch hub folder)."
)


def weights_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(WEIGHTS.url).name


def available() -> bool:
    return weights_path().is_file()


def how_to_get() -> str:
    return HOW_TO_GET.format(hub=torch.hub.get_dir())


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
