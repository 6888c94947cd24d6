"""Choosing an input image, and the per-session "your digit" shared between pages."""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image

from models import data, imagenet
from models.inputs import InputError, check_image, ink_from_photo, mnist_digit
from ui.text import label, plain
from ui.your_digit import your_digit

TEST_IMAGE = {"mnist": "MNIST test image", "cifar10": "CIFAR-10 test image",
              "imagenet": "CIFAR-10 test image, enlarged"}
UPLOAD = "Upload a picture"
YOURS = "Your digit"


def input_sources(dataset: str, with_your_digit: bool = True) -> list[str]:
    yours = [YOURS] if with_your_digit and dataset == "mnist" and your_digit() else []
    return yours + [TEST_IMAGE[dataset], UPLOAD]


def pick_image(dataset: str, source: str, key: str) -> tuple[np.ndarray, str] | None:
    """The widgets for `source` (one of `input_sources`) and the image they give: a uint8
    array ((28, 28) for MNIST, (32, 32, 3) for CIFAR-10, (224, 224, 3) for ImageNet) with a
    description, or None after showing a message that says what is missing."""
    if source == YOURS:
        digit = your_digit()
        return (digit["image"], digit["source"]) if digit else None
    if source == TEST_IMAGE.get(dataset) and dataset == "imagenet":
        picked = _pick_test_image("cifar10", key)
        return None if picked is None else (imagenet.to_input_size(Image.fromarray(picked[0])), picked[1])
    if source == TEST_IMAGE.get(dataset):
        return _pick_test_image(dataset, key)
    if source == UPLOAD:
        return _pick_upload(dataset, key)
    raise ValueError(f"unknown input source {source!r}")


def _pick_test_image(dataset: str, key: str) -> tuple[np.ndarray, str] | None:
    test_set = data.test_images(dataset)
    index_key = f"{key}_index"
    by_index, by_class = st.columns(2)
    with by_class:
        wanted = st.selectbox("A random test image of class", test_set.classes, key=f"{key}_class")
        if st.button(f"Random {wanted}", key=f"{key}_random"):
            candidates = np.flatnonzero(test_set.labels.numpy() == test_set.classes.index(wanted))
            st.session_state[index_key] = int(np.random.default_rng().choice(candidates))
    with by_index:
        index = int(st.number_input("Test image number", 0, len(test_set) - 1, key=index_key))
    image = test_set.images[index].permute(1, 2, 0).numpy().copy()   # a copy: the set is shared
    image = image[..., 0] if image.shape[2] == 1 else image
    label = test_set.classes[int(test_set.labels[index])]
    st.caption(f"Images from {test_set.source}.")
    return image, f"{TEST_IMAGE[dataset]} {index} (labelled {label})"


def _pick_upload(dataset: str, key: str) -> tuple[np.ndarray, str] | None:
    what = {"mnist": "one digit", "cifar10": "a photo (it is shrunk to 32×32, as CIFAR-10 images are)",
            "imagenet": "a photo (its centre is cropped to 224×224)"}[dataset]
    upload = st.file_uploader(f"A PNG or JPEG picture of {what}", type=["png", "jpg", "jpeg"], key=f"{key}_upload")
    if upload is None:
        st.info("Choose a picture to upload.")
        return None
    try:
        picture = check_image(upload.getvalue())
    except InputError as error:
        st.error(str(error))
        return None
    st.image(picture, caption=f"{label(upload.name)} ({picture.width}×{picture.height})", width=200)
    if dataset == "mnist":
        digit = mnist_digit(ink_from_photo(picture))
        if digit is None:
            st.warning("This picture looks empty: no strokes stand out from the background.")
            return None
        return digit, f"upload {label(upload.name)}"
    if dataset == "imagenet":
        return imagenet.to_input_size(picture), f"upload {label(upload.name)}"
    small = np.asarray(picture.convert("RGB").resize((32, 32), Image.LANCZOS))
    st.caption(f"{plain(upload.name, 80)} was resized from {picture.width}×{picture.height} to 32×32 pixels.")
    return small, f"upload {label(upload.name)}"


MAX_FILES_PER_SESSION = 6                 # uploads a session keeps (a page holds at most two)
MAX_SESSION_UPLOAD_BYTES = 40 * 2**20


def limit_uploads() -> None:
    """Called on every run (ui.shell): Streamlit keeps every file a session uploaded until the
    session ends, so a student could pile up gigabytes; beyond these limits the oldest go (an
    uploader whose file went shows "Choose a picture" again)."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    if context is None or not Runtime.exists():
        return
    manager = Runtime.instance().uploaded_file_mgr
    storage = getattr(manager, "file_storage", None)
    if not isinstance(storage, dict):
        return
    with manager._lock:
        files = list(storage.get(context.session_id, {}).values())   # oldest first
    total = sum(len(f.data) for f in files)
    while files and (len(files) > MAX_FILES_PER_SESSION or total > MAX_SESSION_UPLOAD_BYTES):
        oldest = files.pop(0)
        total -= len(oldest.data)
        manager.remove_file(context.session_id, oldest.file_id)
