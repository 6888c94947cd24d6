"""The arithmetic of the softmax page, written out the way the lesson explains it."""

from __future__ import annotations

import numpy as np
import torch


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    z = torch.tensor(np.asarray(logits, dtype=np.float64)) / temperature
    return torch.softmax(z, 0).numpy()


def log_softmax(logits, temperature: float = 1.0, dtype=np.float64) -> np.ndarray:
    """Stable log-softmax by the log-sum-exp trick: (z - m) - log sum exp(z - m), m = max z.
    Every exp sees a number <= 0, so nothing overflows; and z - m is taken first, so a large m
    is never added back (m + log sum would round away the small log term in float32)."""
    z = np.asarray(logits, dtype=dtype) / dtype(temperature)
    top = int(z.argmax())
    shifted = z - z[top]
    # log sum exp(z - m) = log(1 + the others' sum): log1p keeps its digits when that sum is small.
    return shifted - np.log1p(np.exp(np.delete(shifted, top)).sum())


def naive_log_softmax(logits, dtype=np.float32) -> np.ndarray:
    """log(exp(z) / sum exp(z)) computed literally, in float32 like a net's outputs:
    exp(1000) overflows to inf, inf / inf is NaN."""
    z = np.asarray(logits, dtype=dtype)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(z)
        return np.log(e / e.sum())


def nll(logits, target: int, temperature: float = 1.0) -> float:
    """Negative log-likelihood of the target class: the net's 'unhappiness'."""
    return float(-log_softmax(logits, temperature)[target])


def finite_scores(values) -> np.ndarray | None:
    """Scores typed by a person -> floats, or None when any is blank, text, NaN or infinite."""
    try:
        scores = np.array([float(v) for v in values], dtype=float)
    except (TypeError, ValueError):
        return None
    return scores if np.isfinite(scores).all() else None
