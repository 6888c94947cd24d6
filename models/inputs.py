"""Turning what a user gives us (a drawing, an uploaded file) into a net's input.

`check_image` guards uploads; `mnist_digit` turns any picture of one digit into the 28x28
that MNIST's makers would have produced: crop to the ink, fit into 20x20 keeping the aspect
ratio, centre by centre of mass in 28x28."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, ImageOps

from models.data import normalise

MAX_IMAGE_PIXELS = 25_000_000
MAX_ASPECT = 20            # longest side / shortest side of a picture we accept
MIN_SIDE = 8
MAX_CANVAS_BYTES = 2_000_000
MAX_CANVAS_SIDE = 2048     # the canvas is 280 px; a screen with 4x pixels sends 1,120
ALLOWED_FORMATS = ("PNG", "JPEG", "MPO")   # MPO: the JPEG that many phone cameras write
INK_THRESHOLD = 10  # grey levels (of 255) below which a pixel counts as background
MIN_CONTRAST = 40   # grey levels between paper and the strongest ink, below which a photo is blank


class InputError(ValueError):
    """An input we cannot use; the message is written for the person who gave it."""


_TOO_LARGE = f"The image is too large (more than {MAX_IMAGE_PIXELS:,} pixels). Please use a smaller one."
_UNREADABLE = "This file could not be read as an image: it is damaged, truncated, or not a PNG/JPEG."


def check_image(data: bytes) -> Image.Image:
    """Uploaded bytes -> an RGB or L image, fully decoded, EXIF rotation applied, transparent
    parts laid on white paper."""
    if not data:
        raise InputError("The file is empty.")
    try:
        image = Image.open(io.BytesIO(data))   # reads the header only
    except Image.DecompressionBombError:
        raise InputError(_TOO_LARGE) from None
    except Exception:   # Pillow raises many kinds for files that are no images
        raise InputError(_UNREADABLE) from None
    if image.format not in ALLOWED_FORMATS:
        raise InputError(f"Only PNG and JPEG images are accepted (this is {image.format}).")
    if image.width * image.height > MAX_IMAGE_PIXELS:   # checked before decoding the pixels
        raise InputError(_TOO_LARGE)
    check_shape(image.width, image.height)
    try:
        image.load()
    except Exception:
        raise InputError(_UNREADABLE) from None
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(array.max()), 1.0)
        image = Image.fromarray(np.clip(array / top * 255, 0, 255).astype(np.uint8), "L")
    if "A" in image.getbands() or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    return image


def ink_from_photo(image: Image.Image) -> np.ndarray:
    """A picture of a digit -> grey levels where ink is bright (as in MNIST), stretched so the
    strongest ink is 255. Dark ink on light paper is inverted; the background's level is the
    median of the border. A picture with almost no contrast has no ink (all zeros)."""
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    if background > 127:
        grey, background = 255 - grey, 255 - background
    span = grey.max() - background
    if span < MIN_CONTRAST:
        return np.zeros(grey.shape, dtype=np.uint8)
    return np.clip((grey - background) / span * 255, 0, 255).astype(np.uint8)


def check_shape(width: int, height: int) -> None:
    """Refuse, before any decoding or resizing, a picture too thin to show one thing."""
    if min(width, height) < MIN_SIDE:
        raise InputError(f"The image is {width}×{height} pixels: at least {MIN_SIDE} pixels on each side, please.")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise InputError(f"The image is {width}×{height} pixels: a picture this long and thin cannot hold one "
                         f"digit or object (at most {MAX_ASPECT} times longer than wide, please).")


def canvas_image(png: bytes | None) -> np.ndarray | None:
    """The drawing canvas's PNG (what the browser sends) -> its RGBA pixels, checked for size
    before it is decoded: the bytes come over the websocket and could be anything."""
    if png is None:
        return None
    if len(png) > MAX_CANVAS_BYTES:
        raise InputError("The drawing is larger than a drawing from this page can be.")
    try:
        image = Image.open(io.BytesIO(png))
    except Exception:
        raise InputError("The drawing has an unexpected format.") from None
    if image.format != "PNG" or max(image.size) > MAX_CANVAS_SIDE:
        raise InputError("The drawing is larger than a drawing from this page can be.")
    try:
        return np.asarray(image.convert("RGBA"))
    except Exception:
        raise InputError("The drawing has an unexpected format.") from None


def ink_from_canvas(rgba: np.ndarray) -> np.ndarray:
    """The drawing canvas's RGBA array (light strokes on a dark or transparent background) ->
    grey ink levels."""
    rgba = np.asarray(rgba, dtype=np.float32)
    if rgba.ndim != 3 or rgba.shape[2] < 3:
        raise InputError("The drawing has an unexpected format.")
    grey = rgba[..., :3].mean(axis=2)
    if rgba.shape[2] == 4:
        grey = grey * (rgba[..., 3] / 255)
    return grey.astype(np.uint8)


def mnist_digit(ink: np.ndarray) -> np.ndarray | None:
    """Grey ink levels (any size, bright = ink) -> a 28x28 uint8 digit as MNIST made them, or
    None when there is no ink at all."""
    mask = ink > INK_THRESHOLD
    if not mask.any():
        return None
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    scale = 20 / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    small = np.asarray(Image.fromarray(crop).resize((new_w, new_h), Image.LANCZOS), dtype=np.float32)
    small = np.clip(small, 0, 255)

    # Centre of mass at the centre of the 28x28 field, as in the original MNIST.
    total = small.sum()
    if total <= 0:
        return None
    cy = (small.sum(axis=1) * np.arange(new_h)).sum() / total
    cx = (small.sum(axis=0) * np.arange(new_w)).sum() / total
    top = int(round(13.5 - cy))
    left = int(round(13.5 - cx))
    top = min(max(top, 0), 28 - new_h)    # never push ink off the field
    left = min(max(left, 0), 28 - new_w)
    digit = np.zeros((28, 28), dtype=np.float32)
    digit[top : top + new_h, left : left + new_w] = small
    return digit.round().astype(np.uint8)


def net_input(image: np.ndarray, metadata: dict) -> torch.Tensor:
    """The one way from an image to a net: normalised with the model's own statistics (its
    checkpoint metadata), as a (1, C, H, W) batch."""
    return to_tensor(image, metadata["mean"], metadata["std"])


def to_tensor(image: np.ndarray, mean, std) -> torch.Tensor:
    """(H, W) or (H, W, C) uint8 -> the net's normalised (1, C, H, W) float batch."""
    array = torch.from_numpy(np.array(image))   # a copy: callers may pass read-only views
    array = array[None] if array.ndim == 2 else array.permute(2, 0, 1)
    return normalise(array[None], tuple(mean), tuple(std))
