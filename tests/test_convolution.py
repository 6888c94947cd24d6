import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

from models.convolution import ConvSettingError, conv_parameters, convolve, fc_parameters, output_size, window


@st.composite
def conv_cases(draw):
    kernel = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, 2))
    dilation = draw(st.integers(1, 2))
    span = dilation * (kernel - 1) + 1
    h = draw(st.integers(max(1, span - 2 * padding), 9))
    w = draw(st.integers(max(1, span - 2 * padding), 9))
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 10_000))
    return kernel, stride, padding, dilation, h, w, c_in, c_out, seed


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_step_by_step_equals_conv2d(case):
    kernel, stride, padding, dilation, h, w, c_in, c_out, seed = case
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(c_in, h, w, generator=generator, dtype=torch.float64)
    weight = torch.randn(c_out, c_in, kernel, kernel, generator=generator, dtype=torch.float64)
    bias = torch.randn(c_out, generator=generator, dtype=torch.float64)
    expected = F.conv2d(x[None], weight, bias, stride=stride, padding=padding, dilation=dilation)[0]
    got = convolve(x, weight, bias, stride, padding, dilation)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected)
    assert output_size(h, kernel, stride, padding, dilation) == expected.shape[1]
    assert output_size(w, kernel, stride, padding, dilation) == expected.shape[2]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 12), st.integers(1, 6), st.integers(1, 4), st.integers(0, 3), st.integers(1, 3))
def test_size_formula_or_a_message(size, kernel, stride, padding, dilation):
    x = torch.zeros(1, 1, size, size)
    try:
        expected = F.conv2d(x, torch.zeros(1, 1, kernel, kernel), stride=stride, padding=padding,
                            dilation=dilation).shape[-1]
    except RuntimeError:
        with pytest.raises(ConvSettingError, match="no position fits"):
            output_size(size, kernel, stride, padding, dilation)
    else:
        assert output_size(size, kernel, stride, padding, dilation) == expected


def test_course_examples():
    assert output_size(32, 5, 1, 0) == 28
    assert output_size(7, 3, 2, 0) == 3
    assert output_size(32, 3, 1, 1) == 32          # "same" padding
    assert conv_parameters(3, 10, 5) == (750, 10)  # ten 5x5x3 filters: 76 x 10 = 760
    assert sum(conv_parameters(3, 10, 5)) == 760
    assert conv_parameters(512, 32, 1, bias=False) == (512 * 32, 0)


def test_parameter_counts_equal_pytorch():
    for c_in, c_out, k, bias in [(3, 4, 3, True), (1, 8, 7, False), (16, 8, 1, False)]:
        assert sum(conv_parameters(c_in, c_out, k, bias)) == sum(
            p.numel() for p in nn.Conv2d(c_in, c_out, k, bias=bias).parameters())
    assert sum(fc_parameters(784, 10)) == sum(p.numel() for p in nn.Linear(784, 10).parameters())


def test_window_spells_out_one_position():
    x = torch.arange(16.0).reshape(1, 4, 4)
    kernel = torch.ones(1, 3, 3)
    w = window(x, kernel, 0.5, row=1, col=0, stride=1, padding=1)
    assert w.patch.tolist() == [[[0, 0, 1], [0, 4, 5], [0, 8, 9]]]   # padding shows as zeros
    assert w.total == 27.5 and w.channel_sums.tolist() == [27.0]
