"""Classroom inputs that must give a message, never a traceback."""

import io

import numpy as np
import pytest
from PIL import Image

from models.inputs import InputError, check_image, ink_from_photo, mnist_digit
from models.softmax import finite_scores


def _encode(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def test_non_image_renamed_png():
    with pytest.raises(InputError, match="could not be read"):
        check_image(b"%PDF-1.7 this is a pdf, renamed .png" * 10)


def test_truncated_jpeg():
    data = _encode(Image.new("RGB", (64, 64), "white"), "JPEG")
    with pytest.raises(InputError, match="damaged, truncated"):
        check_image(data[: len(data) // 3])


def test_cmyk_jpeg_becomes_rgb():
    image = check_image(_encode(Image.new("CMYK", (8, 8), (0, 0, 0, 0)), "JPEG"))
    assert image.mode == "RGB" and image.getpixel((0, 0))[0] > 240   # no ink = white paper


def test_exif_rotation_is_applied():
    tall = Image.new("L", (20, 40), 255)
    tall.paste(0, (0, 0, 20, 5))                       # a dark band at the top
    exif = Image.Exif()
    exif[0x0112] = 6                                   # "rotate 90° clockwise to display"
    shown = check_image(_encode(tall, "JPEG", exif=exif))
    assert shown.size == (40, 20)                      # displayed the way the phone meant it
    assert np.asarray(shown)[:, -3:].mean() < 60        # the band is now on the right


@pytest.mark.parametrize("size, words", [((1, 1), "at least 8 pixels"), ((10000, 10), "long and thin"),
                                         ((10, 10000), "long and thin")])
def test_extreme_shapes_are_refused_with_a_message(size, words):
    with pytest.raises(InputError, match=words):
        check_image(_encode(Image.new("L", size, 255)))


def test_blank_pictures_look_empty():
    image = check_image(_encode(Image.new("L", (8, 160), 255)))
    assert mnist_digit(ink_from_photo(image)) is None  # blank: "looks empty", not a crash


def test_thin_line_in_a_wide_image_is_a_digit():
    line = Image.new("L", (400, 20), 255)
    line.paste(0, (10, 5, 390, 15))
    digit = mnist_digit(ink_from_photo(check_image(_encode(line))))
    assert digit is not None and digit.shape == (28, 28)


def test_decompression_bomb():
    with pytest.raises(InputError, match="too large"):
        check_image(_encode(Image.new("1", (8000, 8000))))


@pytest.mark.parametrize("typed", [
    ["1", "nan", "2"], [1.0, float("inf"), 0.0], ["1", "", "3"], ["a", "2", "3"], [None, 1, 2],
])
def test_typed_scores_that_are_not_numbers(typed):
    assert finite_scores(typed) is None


def test_typed_scores_that_are_numbers():
    assert finite_scores(["1", 2, -3.5]).tolist() == [1.0, 2.0, -3.5]
