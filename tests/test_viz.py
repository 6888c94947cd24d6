"""viz/: the figures carry the numbers they were given, on the scales the pages promise."""

import numpy as np
import pytest

from viz.charts import accuracy_against_bar, epoch_curves, layer_norms
from viz.feature_maps import map_grid


@pytest.mark.parametrize("signed", [True, False])
def test_map_grid_one_heatmap_per_channel_on_one_scale(signed):
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(16, 7, 5))
    channels = [3, 0, 9, 15, 2]
    fig = map_grid(maps, channels, "maps", signed=signed, columns=4)
    assert [trace.type for trace in fig.data] == ["heatmap"] * 5
    for trace, channel in zip(fig.data, channels):
        assert np.array_equal(np.asarray(trace.z), maps[channel])
        assert trace.coloraxis == "coloraxis"
    top = np.abs(maps[channels]).max()
    scale = fig.layout.coloraxis
    assert (scale.cmin, scale.cmax) == ((-top, top) if signed else (0, top))
    assert [a.text for a in fig.layout.annotations] == [f"ch {c}" for c in channels]
    assert fig.layout.height == 90 + 150 * 2                    # 5 channels in rows of 4
    # each map keeps its pixels square and the image orientation (row 0 at the top)
    assert fig.layout.yaxis3.scaleanchor == "x3" and fig.layout.yaxis3.autorange == "reversed"
    domains = [fig.layout[f"xaxis{'' if i == 0 else i + 1}"].domain for i in range(5)]
    assert domains[0][0] == 0 and domains[3][1] == pytest.approx(1) and domains[4] == domains[0]


def test_map_grid_shared_limit():
    fig = map_grid(np.ones((2, 3, 3)), [0, 1], "x", signed=True, limit=5.0)
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (-5.0, 5.0)


def test_epoch_curves_and_layer_norms_carry_their_numbers():
    fig = epoch_curves({"a": ([1, 2], [0.5, 0.4]), "b (shipped)": ([1, 2], [0.6, 0.3])}, "t", "loss",
                       dashed=["b (shipped)"])
    assert [list(t.y) for t in fig.data] == [[0.5, 0.4], [0.6, 0.3]]
    assert fig.data[1].line.dash == "dash" and fig.data[0].line.color != fig.data[1].line.color
    norms = layer_norms({"plain": [4.0, 2.0, 1.0]}, "g")
    assert list(norms.data[0].x) == [1, 2, 3] and norms.layout.yaxis.type == "log"


def test_accuracy_against_bar_draws_each_run_and_the_bar():
    series = {"ResNet-20": ([1, 2, 3], [0.80, 0.85, 0.889]), "ResNet-56": ([1, 2], [0.75, 0.917])}
    fig = accuracy_against_bar(series, 0.91, "the course's 91%", "t")
    assert [list(t.y) for t in fig.data] == [[0.80, 0.85, 0.889], [0.75, 0.917]]
    assert fig.data[0].line.color != fig.data[1].line.color
    [bar] = fig.layout.shapes
    assert (bar.y0, bar.y1, bar.line.dash) == (0.91, 0.91, "dash")
    assert list(fig.layout.yaxis.range) == [pytest.approx(0.73), 1.0]       # 2 points under the lowest
    early = accuracy_against_bar({"a": ([1, 2], [0.10, 0.92])}, 0.91, "bar", "t")
    assert list(early.layout.yaxis.range) == [pytest.approx(0.66), 1.0]     # no lower than 25 under the bar


def test_picture_row_shows_pictures_and_heatmaps_side_by_side():
    from viz.gradcam import overlay, picture_row

    photo = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    heat = np.linspace(0, 1, 64).reshape(8, 8)
    fig = picture_row([photo, heat, overlay(photo, heat, 0.5)], ["photo", "Grad-CAM", "overlay"])
    assert [t.type for t in fig.data] == ["image", "heatmap", "image"]
    assert np.array_equal(np.asarray(fig.data[0].z), photo) and np.array_equal(np.asarray(fig.data[1].z), heat)
    assert (fig.data[1].zmin, fig.data[1].zmax) == (0, 1)
    assert [a.text for a in fig.layout.annotations] == ["photo", "Grad-CAM", "overlay"]
    assert fig.layout.xaxis3.domain[1] == pytest.approx(1)
    # opacity 0 leaves the photo as it was
    blended = overlay(photo, np.zeros((8, 8)), 0.0)
    assert np.array_equal(blended, photo)


@pytest.mark.parametrize("shape", [(5, 3, 3), (3, 11, 11, 3)], ids=["heatmaps", "colour"])
def test_tile_frames_sit_on_each_tiles_pixel_edges(shape):
    from viz.kernels import tile_grid

    tiles = np.random.default_rng(0).random(shape)
    fig = tile_grid(tiles, "kernels", columns=2)
    height, width = shape[1:3]
    assert len(fig.layout.shapes) == len(tiles)
    for index, shape_ in enumerate(fig.layout.shapes):
        suffix = "" if index == 0 else str(index + 1)
        assert (shape_.xref, shape_.yref) == (f"x{suffix}", f"y{suffix}")   # on the tile's own axes
        assert (shape_.x0, shape_.x1, shape_.y0, shape_.y1) == (-0.5, width - 0.5, -0.5, height - 0.5)
        x_axis, y_axis = fig.layout[f"xaxis{suffix}"], fig.layout[f"yaxis{suffix}"]
        assert tuple(x_axis.range) == (-0.5, width - 0.5) and tuple(y_axis.range) == (height - 0.5, -0.5)
        assert y_axis.scaleanchor == f"x{suffix}"   # square pixels


def test_confidence_bars_never_round_a_share_to_all_or_nothing():
    from viz.charts import class_bars

    fig = class_bars([0.99991, 0.00009, 0.0, 1.0, 0.5], list("abcde"), "softmax", as_percent=True)
    assert list(fig.data[0].text) == [">99.9%", "<0.1%", "0.0%", "100.0%", "50.0%"]
    assert fig.layout.yaxis.range[1] >= 1.2   # room above the tallest bar for its label


def test_the_nll_curve_labels_its_point_with_the_pages_precision():
    from viz.charts import nll_curve

    fig = nll_curve(0.99991, 9.0e-5)
    (label,) = fig.layout.annotations
    assert label.text == "p = 0.9999, NLL = 0.0001" and label.ax < 0   # left of the point, off the curve


def test_log_axes_are_labelled_at_powers_of_ten_only():
    from viz.charts import loss_curves
    from viz.style import LOG_AXIS

    axis = loss_curves({"a": [2.3, 0.5, 0.01]}, "loss").layout.yaxis
    assert (axis.type, axis.dtick, axis.exponentformat) == (LOG_AXIS["type"], 1, "none")


def test_each_normalisation_group_has_a_colour_of_its_own():
    from viz.batch_norm import group_map

    fig = group_map(np.arange(24).reshape(4, 6), "InstanceNorm")   # 24 groups, one per sample and channel
    scale = fig.data[0].colorscale
    colours = [scale[2 * group][1] for group in range(24)]
    assert len(set(colours)) == 24
    assert (fig.data[0].zmin, fig.data[0].zmax) == (-0.5, 23.5)   # group g sits in the middle of its band
