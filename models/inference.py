"""Running a trained net on one input: class scores and probabilities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn



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
def predict(model: nn.Module, x: torch.Tensor) -> Prediction:
    """The net's input for one image (models.inputs.net_input) -> its Prediction. Eval-mode
    inference only, so one model can serve many sessions at once."""
    device = next(model.parameters()).device
    scores = class_scores(model, x.to(device))[0].double().cpu()
    return Prediction(scores.numpy(), torch.softmax(scores, 0).numpy())
