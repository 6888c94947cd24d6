"""Running a trained net on one input: class scores and probabilities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from models.inputs import to_tensor


@dataclass(frozen=True)
class Prediction:
    scores: np.ndarray          # raw class scores (logits), shape (classes,)
    probabilities: np.ndarray   # softmax of the scores

    @property
    def top(self) -> int:
        return int(self.probabilities.argmax())

    def top_k(self, k: int = 3) -> list[int]:
        return [int(i) for i in np.argsort(-self.probabilities)[:k]]


def class_scores(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Logits: for the GAP MNIST net the scores before its log-softmax output."""
    return model.logits(x) if hasattr(model, "logits") else model(x)


@torch.no_grad()
def predict(model: nn.Module, image: np.ndarray, metadata: dict) -> Prediction:
    """One uint8 image ((H, W) grey or (H, W, 3) colour) -> its Prediction. Eval-mode
    inference only, so one model can serve many sessions at once."""
    device = next(model.parameters()).device
    x = to_tensor(image, metadata["mean"], metadata["std"]).to(device)
    scores = class_scores(model, x)[0].double().cpu()
    return Prediction(scores.numpy(), torch.softmax(scores, 0).numpy())
