"""models.dropout.Dropout against the rule of torch's dropout: each value dropped with probability
p (rounded to 1/65,536), survivors scaled so the expectation is the input, nothing in evaluation."""

import math

import pytest
import torch
from torch import nn

from models import build, spec
from models.dropout import LEVELS, Dropout, rounded_p


def binomial_bound(p: float, n: int) -> float:
    """Six standard errors of a share of n coin flips: a correct mask misses it about once in 10⁹."""
    return 6 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("p", [0.05, 0.1, 0.25, 0.5, 0.75])
def test_a_training_mask_drops_p_and_scales_the_survivors(p):
    torch.manual_seed(0)
    x = torch.rand(64, 16, 20, 20) + 0.5                   # no zeros, so a zero is a dropped value
    y = Dropout(p).train()(x)
    dropped = y == 0
    q = rounded_p(p)
    assert abs(q - p) <= 0.5 / LEVELS
    assert dropped.float().mean().item() == pytest.approx(q, abs=binomial_bound(q, x.numel()))
    torch.testing.assert_close(y[~dropped], x[~dropped] * (1 / (1 - q)))
    ones = Dropout(p).train()(torch.ones(x.numel()))
    assert ones.mean().item() == pytest.approx(1.0, abs=binomial_bound(q, x.numel()) / (1 - q))


def test_each_of_the_four_values_a_random_number_serves_is_a_fair_coin():
    """One 64-bit draw serves four values: each of its 16-bit quarters, the sign bit's quarter too,
    must drop with probability p (a draw of only 63 random bits would never drop every fourth value)."""
    torch.manual_seed(1)
    p, n = 0.05, 4 * 250_000
    dropped = (Dropout(p).train()(torch.ones(n)) == 0).view(-1, 4).float().mean(0)
    for share in dropped.tolist():
        assert share == pytest.approx(rounded_p(p), abs=binomial_bound(p, n // 4))


def test_the_gradient_is_the_mask_times_the_scale():
    torch.manual_seed(2)
    x = (torch.rand(8, 4, 6, 6) + 0.5).requires_grad_()
    y = Dropout(0.25).train()(x)
    y.sum().backward()
    torch.testing.assert_close(x.grad, (y / x).detach())


def test_evaluation_and_the_ends_of_p_are_torchs_dropout():
    x = torch.randn(4, 3, 5, 5)
    torch.testing.assert_close(Dropout(0.5).eval()(x), x)
    torch.testing.assert_close(Dropout(0.0).train()(x), x)
    assert (Dropout(1.0).train()(x) == 0).all()
    torch.manual_seed(3)
    tiny = Dropout(1e-6).train()(x)          # rounds to 0 of 65,536: torch's own draw, as nn.Dropout(1e-6)
    torch.manual_seed(3)
    torch.testing.assert_close(tiny, nn.Dropout(1e-6).train()(x))


def test_same_seed_same_mask_and_the_layout_is_kept():
    x = torch.randn(16, 8, 7, 7).contiguous(memory_format=torch.channels_last)
    torch.manual_seed(4)
    first = Dropout(0.1).train()(x)
    torch.manual_seed(4)
    torch.testing.assert_close(Dropout(0.1).train()(x), first, rtol=0, atol=0)
    assert first.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (3, 5), (2, 3, 5, 7)])
def test_any_size_works(shape):
    x = torch.ones(shape)
    y = Dropout(0.5).train()(x)
    assert y.shape == x.shape
    assert set(y.unique().tolist()) <= {0.0, LEVELS / (LEVELS - rounded_p(0.5) * LEVELS)}


def test_bfloat16_under_autocast():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), Dropout(0.1)).train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = model(torch.randn(2, 1, 8, 8))
    assert y.dtype == torch.bfloat16
    y.float().sum().backward()
    assert model[0].weight.grad is not None


def test_the_course_net_and_lab_nets_use_it():
    for net in (build("gap-mnist"), spec.build(spec.GAP_PRESET, (1, 28, 28))):
        dropouts = [m for m in net.modules() if isinstance(m, nn.Dropout)]
        assert dropouts and all(isinstance(m, Dropout) for m in dropouts)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_cuda_it_is_torchs_dropout():
    x = torch.randn(1000, device="cuda")
    torch.manual_seed(5)
    ours = Dropout(0.3).train()(x)
    torch.manual_seed(5)
    torch.testing.assert_close(ours, nn.Dropout(0.3).train()(x))
