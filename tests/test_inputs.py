import io

import numpy as np
import pytest
import torch
from PIL import Image

from models import checkpoints, data
from models.inference import predict
from models.inputs import InputError, check_image, ink_from_canvas, ink_from_photo, mnist_digit, net_input, to_tensor
from tests.shipped import GAP_MNIST


def _centre_of_mass(image):
    image = image.astype(float)
    total = image.sum()
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / total, (cols * image).sum() / total


def test_big_off_centre_stroke_ends_centred_at_mnist_scale():
    canvas = np.zeros((280, 280), dtype=np.uint8)
    canvas[10:270, 200:230] = 255            # a tall "1" pushed to the right edge
    digit = mnist_digit(canvas)
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    rows = np.flatnonzero(digit.max(axis=1) > 10)
    assert rows[-1] - rows[0] + 1 in (20, 21)  # longest side fits the 20-pixel box
    cy, cx = _centre_of_mass(digit)
    assert abs(cy - 13.5) <= 0.6 and abs(cx - 13.5) <= 0.6


def test_small_wide_drawing_is_scaled_up_keeping_the_aspect_ratio():
    canvas = np.zeros((280, 280), dtype=np.uint8)
    canvas[20:30, 20:60] = 200                 # 10 x 40: a dash in the corner
    digit = mnist_digit(canvas)
    rows = np.flatnonzero(digit.max(axis=1) > 10)
    cols = np.flatnonzero(digit.max(axis=0) > 10)
    assert cols[-1] - cols[0] + 1 in (20, 21)
    assert 4 <= rows[-1] - rows[0] + 1 <= 7    # 10/40 of 20, give or take the resampling


def test_blank_input_is_none():
    assert mnist_digit(np.zeros((280, 280), dtype=np.uint8)) is None
    assert mnist_digit(np.full((50, 50), 5, dtype=np.uint8)) is None   # faint noise is not ink


def test_canvas_rgba_to_ink():
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[1, 2, :3] = 255
    ink = ink_from_canvas(rgba)
    assert ink[1, 2] == 255 and ink.sum() == 255
    transparent = np.zeros((4, 4, 4), dtype=np.uint8)
    transparent[0, 0] = (255, 255, 255, 0)     # invisible stroke colour does not count
    assert ink_from_canvas(transparent).max() == 0


def test_dark_ink_on_paper_is_inverted():
    paper = np.full((60, 40), 230, dtype=np.uint8)
    paper[10:50, 18:22] = 20
    ink = ink_from_photo(Image.fromarray(paper))
    assert ink[30, 20] == 255 and ink[0, 0] == 0


@pytest.fixture(scope="module")
def gap_model():
    return checkpoints.load(GAP_MNIST)


def test_net_reads_rescaled_and_shifted_test_digits(data_available, gap_model):
    """MNIST test digits pasted at another scale and place on a 280x280 canvas, then
    preprocessed like a drawing, are still read correctly."""
    model, metadata = gap_model
    test_set = data.load("mnist", train=False)
    rng = np.random.default_rng(0)
    indices = rng.choice(len(test_set), 300, replace=False)
    correct = 0
    for index in indices:
        digit = test_set.images[index, 0].numpy()
        size = int(rng.integers(120, 260))
        big = np.asarray(Image.fromarray(digit).resize((size, size), Image.BILINEAR))
        canvas = np.zeros((280, 280), dtype=np.uint8)
        top, left = rng.integers(0, 280 - size + 1, 2)
        canvas[top : top + size, left : left + size] = big
        prediction = predict(model, net_input(mnist_digit(canvas), metadata))
        correct += prediction.top == int(test_set.labels[index])
    assert correct / len(indices) >= 0.97


def test_to_tensor_normalises_like_training():
    image = np.array([[0, 255]], dtype=np.uint8)
    x = to_tensor(image, [0.1307], [0.3081])
    assert x.shape == (1, 1, 1, 2)
    torch.testing.assert_close(x[0, 0, 0], torch.tensor([-0.1307 / 0.3081, (1 - 0.1307) / 0.3081]))


def _png(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kwargs.pop("format", "PNG"), **kwargs)
    return buffer.getvalue()


def test_upload_checks():
    good = _png(Image.new("RGB", (30, 20), "white"))
    assert check_image(good).size == (30, 20)
    with pytest.raises(InputError, match="damaged, truncated"):
        check_image(good[: len(good) // 2])
    with pytest.raises(InputError, match="damaged, truncated"):
        check_image(b"this is not an image at all")
    with pytest.raises(InputError, match="empty"):
        check_image(b"")
    with pytest.raises(InputError, match="Only PNG and JPEG"):
        check_image(_png(Image.new("RGB", (4, 4)), format="GIF"))


def _tiled(row, dtype) -> Image.Image:
    """An 8-row picture (the smallest side accepted) of one repeated row of values."""
    return Image.fromarray(np.tile(np.array([row] * 8, dtype=dtype), (1, 3)))


def test_upload_modes_are_converted():
    sixteen = _tiled([0, 65535, 0], np.uint16)
    assert np.asarray(check_image(_png(sixteen)))[0, :3].tolist() == [0, 255, 0]
    dark = _tiled([0, 15, 4096], np.uint16)   # stays dark: no stretch
    assert np.asarray(check_image(_png(dark)))[0, :3].tolist() == [0, 0, 15]
    palette = Image.new("P", (8, 8), 1)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    assert check_image(_png(palette)).getpixel((0, 0)) == (255, 0, 0)
    transparent = Image.new("RGBA", (8, 8), (0, 0, 0, 0))   # transparent -> white paper
    assert check_image(_png(transparent)).getpixel((0, 0)) == (255, 255, 255)


def test_blank_photo_has_no_ink():
    noise = np.random.default_rng(0).integers(200, 215, (40, 40)).astype(np.uint8)
    assert mnist_digit(ink_from_photo(Image.fromarray(noise))) is None


def test_transparent_grey_png_lies_on_white_paper():
    grey = Image.new("L", (8, 8), 0)
    buffer = io.BytesIO()
    grey.save(buffer, format="PNG", transparency=0)
    assert check_image(buffer.getvalue()).getpixel((0, 0)) in (255, (255, 255, 255))


def test_huge_image_is_refused_before_decoding():
    huge = Image.new("L", (6000, 5000))
    with pytest.raises(InputError, match="too large"):
        check_image(_png(huge))
