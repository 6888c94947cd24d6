import numpy as np
import pytest

from models.convolution import ConvSettingError
from models.strides import (
    coverage, coverage_1d_closed_form, coverage_closed_form, stride_peak_strength, transposed_overlap,
)


@pytest.mark.parametrize("padding", [0, 1, 2])
def test_measured_coverage_equals_the_closed_form(padding):
    for kernel in range(1, 8):
        for stride in range(1, 5):
            size = 17
            if kernel > size + 2 * padding:
                continue
            np.testing.assert_array_equal(coverage(size, [(kernel, stride, padding)]),
                                          coverage_closed_form(size, kernel, stride, padding))


def test_stride_one_covers_the_interior_k_squared_times():
    for kernel in (1, 3, 5, 7):
        counts = coverage(20, [(kernel, 1, 0)])
        inner = counts[kernel - 1 : 20 - kernel + 1, kernel - 1 : 20 - kernel + 1]
        assert (inner == kernel * kernel).all()


def test_stride_larger_than_kernel_skips_pixels():
    line = coverage_1d_closed_form(12, 2, 3)
    assert line.tolist() == [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0]


def test_stacks_compound():
    counts = coverage(32, [(3, 2, 1), (3, 2, 1)])
    assert len(np.unique(counts)) > len(np.unique(coverage(32, [(3, 2, 1)])))


def test_impossible_stack_is_a_clear_error():
    with pytest.raises(ConvSettingError, match="no position fits"):
        coverage(4, [(3, 2, 0), (3, 2, 0)])


def test_transposed_overlap_is_even_only_when_kernel_is_a_multiple_of_stride():
    for kernel in range(1, 8):
        for stride in range(1, 5):
            overlap = transposed_overlap(16, kernel, stride)
            interior = overlap[kernel:-kernel, kernel:-kernel]   # away from the borders
            even = len(np.unique(interior)) == 1
            assert even == (kernel % stride == 0), (kernel, stride, np.unique(interior))


def test_peak_detector():
    checkerboard = np.indices((32, 32)).sum(0) % 2 * 1.0 + 0.05 * np.random.default_rng(0).normal(size=(32, 32))
    smooth = np.outer(np.sin(np.linspace(0, 3, 32)), np.cos(np.linspace(0, 2, 32)))
    grid = np.zeros((32, 32))
    grid[::4, ::4] = 1
    assert stride_peak_strength(checkerboard, 2) > 20
    assert stride_peak_strength(grid, 4) > 20
    assert stride_peak_strength(smooth, 2) < 3


def test_stack_closed_form_equals_autograd():
    from models.strides import coverage_1d_stack_closed_form

    for layers in ([(3, 2, 1)], [(3, 2, 1), (3, 2, 1)], [(5, 3, 0), (2, 2, 0), (3, 1, 1)], [(1, 2, 0), (3, 2, 0)]):
        line = coverage_1d_stack_closed_form(33, layers)
        np.testing.assert_array_equal(coverage(33, layers), np.outer(line, line))


def test_shipped_resnet_gradient_on_a_plain_input_shows_the_period_4_grid():
    import torch

    from models import checkpoints
    from models.probes import class_input_gradient
    from tests.shipped import RESNET20

    model, _ = checkpoints.load(RESNET20)
    strengths = [stride_peak_strength(class_input_gradient(model, torch.zeros(1, 3, 32, 32), c).numpy(), 4)
                 for c in range(10)]
    assert np.mean(strengths) > 2.2   # measured: 2.7 on average over the classes (1 = no peak)


def test_the_grid_verdict_names_a_real_grid_and_almost_never_noise():
    from models.strides import CLEAR_PEAK, grid_verdict

    rng = np.random.default_rng(0)
    noise = [max(stride_peak_strength(rng.normal(size=(32, 32)), 2), stride_peak_strength(rng.normal(size=(32, 32)), 4))
             for _ in range(500)]
    assert np.percentile(noise, 99) < CLEAR_PEAK
    checkerboard = np.indices((32, 32)).sum(0) % 2 + 0.1 * rng.normal(size=(32, 32))
    peaks = {2: stride_peak_strength(checkerboard, 2), 4: stride_peak_strength(checkerboard, 4)}
    assert grid_verdict(peaks) == "a grid stands out at period 2"   # a period-2 grid is no period-4 grid
    assert peaks[4] < 2
    assert grid_verdict({2: 1.1, 4: 2.0}).startswith("no grid stands out")
