"""The batch-norm formula worked out by hand on a real batch, one channel at a time, next to
what nn.BatchNorm2d (or nn.BatchNorm1d) computes:

    mu = mean of the channel's values over the batch (and, for a convolution, over H and W)
    var = their mean squared deviation from mu (the biased variance)
    x_hat = (x - mu) / sqrt(var + eps)
    y = gamma * x_hat + beta                      (gamma, beta: learned, one pair per channel)

In evaluation the running averages replace mu and var; in training, after the batch, they move:
running = (1 - momentum) * running + momentum * batch statistic (var unbiased, N/(N-1) x var).
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def bn_layers(model: nn.Module) -> list[str]:
    """Names of the model's batch-norm layers, in forward order."""
    return [name for name, m in model.named_modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]


@torch.no_grad()
def bn_input(model: nn.Module, layer: str, x: torch.Tensor) -> torch.Tensor:
    """What the batch-norm layer `layer` receives when `model` (in eval mode, on a copy) sees `x`."""
    probe = copy.deepcopy(model).float().eval()
    caught = []
    module = dict(probe.named_modules())[layer]
    handle = module.register_forward_hook(lambda m, inputs, output: caught.append(inputs[0].detach()))
    try:
        probe(x)
    finally:
        handle.remove()
    return caught[0].contiguous()


@torch.no_grad()
def step_by_step(x: torch.Tensor, bn: nn.BatchNorm1d | nn.BatchNorm2d, channel: int, training: bool) -> dict:
    """The formula for one channel of `x` ((N, C) for an FC layer's features, (N, C, H, W) for a
    convolution's maps), in float64, and nn's own output for the same batch and mode (on a copy
    of `bn`, whose running statistics after a training step are returned too)."""
    x = x.detach().to(torch.float64)
    values = x.select(1, channel)                      # (N,) or (N, H, W): everything that shares mu and var
    count = values.numel()
    eps = bn.eps
    gamma = bn.weight[channel].item() if bn.affine else 1.0
    beta = bn.bias[channel].item() if bn.affine else 0.0
    running_mean, running_var = bn.running_mean[channel].item(), bn.running_var[channel].item()
    batch_mean = values.mean().item()
    batch_var = values.var(unbiased=False).item()
    mu, var = (batch_mean, batch_var) if training else (running_mean, running_var)
    std = (var + eps) ** 0.5
    x_hat = (values - mu) / std
    y = gamma * x_hat + beta

    reference = copy.deepcopy(bn).to(torch.float64).train(training)
    torch_y = reference(x).select(1, channel)
    momentum = bn.momentum if bn.momentum is not None else 0.1
    unbiased = batch_var * count / (count - 1) if count > 1 else float("nan")
    return {
        "channel": channel, "training": training, "count": count, "shape": list(x.shape),
        "mu": mu, "var": var, "eps": eps, "std": std, "gamma": gamma, "beta": beta,
        "batch_mean": batch_mean, "batch_var": batch_var, "running_mean": running_mean, "running_var": running_var,
        "values": values.flatten(), "x_hat": x_hat.flatten(), "y": y.flatten(), "torch_y": torch_y.flatten(),
        "largest_difference": (y - torch_y).abs().max().item(),
        "new_running_mean": (1 - momentum) * running_mean + momentum * batch_mean if training else running_mean,
        "new_running_var": (1 - momentum) * running_var + momentum * unbiased if training else running_var,
        "torch_new_running_mean": reference.running_mean[channel].item(),
        "torch_new_running_var": reference.running_var[channel].item(),
        "momentum": momentum,
    }


def as_features(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) maps -> (N, C) features by global average pooling: what an FC layer after
    the GAP would receive, so BatchNorm1d can be shown on the same batch."""
    return x.mean((2, 3)) if x.dim() == 4 else x
