"""Writes lessons/intro_course.json, the ready lesson that follows the course:
draw a digit -> convolution -> feature maps and ReLU -> kernels and receptive fields ->
softmax -> inputs and initialisation -> activations -> learning rate and batch size ->
overfitting -> batch norm -> ResNet -> Grad-CAM -> checkerboard.

    python -m lessons.build_intro_course

The lesson opens with a "3" drawn on the canvas: its strokes are written as the canvas's own
(fabric.js) JSON, and the 28x28 digit the net sees is made from them by the app's own
preprocessing, so the scene shows exactly what drawing it by hand would.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from models.inputs import ink_from_canvas, mnist_digit
from ui.scenes import Digit, Lesson, Scene

OUT = Path(__file__).with_name("intro_course.json")
CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
CANVAS = 280
STROKE = 20
# A "3" as quadratic Bézier segments on the 280x280 canvas: (start, control, end).
THREE = [((95, 70), (150, 30), (185, 80)), ((185, 80), (200, 120), (140, 135)),
         ((140, 135), (205, 150), (190, 200)), ((190, 200), (170, 250), (95, 215))]


def _points(segments, steps: int = 24) -> list[tuple[float, float]]:
    points = []
    for (x0, y0), (cx, cy), (x1, y1) in segments:
        for t in np.linspace(0, 1, steps):
            points.append(((1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t ** 2 * x1,
                           (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t ** 2 * y1))
    return points


def drawing_of(segments) -> dict:
    """The canvas JSON of one freehand stroke along `segments`."""
    path = [["M", *segments[0][0]]] + [["Q", *control, *end] for _, control, end in segments]
    xs, ys = zip(*_points(segments))
    return {"version": "4.4.0", "background": "#000000", "objects": [{
        "type": "path", "version": "4.4.0", "originX": "left", "originY": "top",
        "left": min(xs) - STROKE / 2, "top": min(ys) - STROKE / 2,
        "width": max(xs) - min(xs), "height": max(ys) - min(ys),
        "fill": None, "stroke": "#FFFFFF", "strokeWidth": STROKE, "strokeLineCap": "round",
        "strokeLineJoin": "round", "strokeMiterLimit": 10, "scaleX": 1, "scaleY": 1, "angle": 0,
        "opacity": 1, "visible": True, "path": path,
    }]}


def digit_of(segments) -> np.ndarray:
    """The 28x28 digit the app makes from the canvas after this stroke."""
    canvas = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 255))
    pen = ImageDraw.Draw(canvas)
    points = _points(segments)
    pen.line(points, fill=(255, 255, 255, 255), width=STROKE, joint="curve")
    for x, y in (points[0], points[-1]):   # round caps
        pen.ellipse((x - STROKE / 2, y - STROKE / 2, x + STROKE / 2, y + STROKE / 2), fill=(255, 255, 255, 255))
    return mnist_digit(ink_from_canvas(np.asarray(canvas)))


def residual_note() -> str:
    """The plain-vs-residual scene's line, from the shipped runs (a line on the projector states
    only what the scene shows)."""
    from models.residual_study import HE_ET_AL, compare_with_he_et_al, load_runs

    comparisons = {(c.net, c.other): c for c in compare_with_he_et_al(load_runs()[0])}
    if len(comparisons) < len(HE_ET_AL):
        return "He et al.: 56 plain layers train worse than 20; skip connections fix it. Compare these runs."
    than = {"better": "better than", "worse": "worse than", "about the same": "about as well as"}
    plain, residual = comparisons["plain56", "plain20"], comparisons["resnet56", "resnet20"]
    agreeing = sum(c.agrees for c in comparisons.values())
    return (f"In these runs 56 plain layers train {than[plain.by_loss]} 20 (loss {plain.loss[0]:.2f} vs "
            f"{plain.loss[1]:.2f}); with skips, 56 train {than[residual.by_loss]} 20 ({residual.loss[0]:.2f} vs "
            f"{residual.loss[1]:.2f}). They agree with He et al. on {agreeing} of {len(comparisons)} comparisons.")


def shipped_label(stem: str) -> str:
    """The sidebar's label of a shipped net: the name on its card (ui.catalogue labels it so)."""
    return json.loads((CHECKPOINTS / f"{stem}.json").read_text())["name"]


def intro_course() -> Lesson:
    three = Digit(digit_of(THREE), "your drawing", drawing_of(THREE))
    models = {"mnist": shipped_label("gap_mnist"), "cifar10": shipped_label("resnet20_cifar10")}

    def scene(page, title, note, **controls) -> Scene:
        return Scene(page, title, controls, dict(models), three, [], note)

    scenes = [
        scene("draw_digit", "1. Draw a digit", "The net sees 28×28 grey pixels, centred like MNIST. Draw your own!",
              digit_source="Draw", stroke_width=20),
        scene("convolution", "2. Convolution, step by step",
              "One kernel, nine weights, slid over every position: multiply, add, write one number.",
              cv_source="Your digit", cv_padding=1, cv_stride=1, cv_dilation=1),
        scene("feature_maps", "3. Feature maps before and after ReLU",
              "Before ReLU: blue below zero, red above. After it the negatives are 0 (dark), the rest stays.",
              fm_dataset="MNIST", fm_source_mnist="Your digit", fm_layer_mnist=0),
        scene("feature_maps", "4. Deeper feature maps and their receptive fields",
              "Deeper maps are smaller, and each pixel sees a larger patch of the digit.",
              fm_dataset="MNIST", fm_source_mnist="Your digit", fm_layer_mnist=4),
        scene("kernels", "5. Kernels: 3×3, 7×7, 11×11",
              "3×3 kernels are too small to read; stack them and the receptive field grows 3, 5, 7, …",
              kn_stem="3×3 · ResNet-20 (CIFAR-10)", kn_rf=7),
        scene("softmax", "6. Softmax vs log-softmax",
              "Softmax always sums to 100 %; training minimises −log p of the right class.",
              softmax_source="Your digit", temperature=1.0),
        scene("initialisation", "Inputs and initialisation",
              "0.1307 and 0.3081 are measured on the data; only He initialisation keeps the spread flat.",
              ii_dataset="MNIST", ii_bn="without batch norm"),
        scene("activations", "Activation functions",
              "Without a non-linearity the whole net is one linear classifier, W·x + b.", ac_epochs=1),
        scene("learning_rate", "Learning rate and batch size",
              "Too low crawls, too high jumps and turns NaN; bigger batches take fewer steps.",
              lr_rate1=0.001, lr_rate2=0.05, lr_rate3=5.0, lr_rate4=1000.0,
              lr_batch_scale="the same for every batch"),
        scene("overfitting", "Overfitting and regularisation",
              "1,000 images: training accuracy reaches 100 %, held-out accuracy stalls. Mind the gap.",
              of_patience=5, of_variant="augmentation", of_p=0.25),
        scene("batch_norm", "7. Batch norm",
              "Twin nets, same start, same batches: one with batch norm, one without.",
              bn_kind="GAP MNIST net (ReLU)", bn_steps=300),
        scene("plain_vs_residual", "8. ResNet: plain vs residual",
              residual_note(),
              pr_metric="training loss", pr_depth=56),
        scene("gradcam", "9. Grad-CAM: where does the net look?",
              "Bright yellow marks the strongest evidence for the chosen class, dark purple none.",
              gc_dataset="CIFAR-10", gc_source_cifar10="CIFAR-10 test image", gc_cifar10_index=7),
        scene("strides", "10. Strides and the checkerboard",
              "Kernel 3, stride 2: some pixels are used twice as often as their neighbours.",
              sd_kernel=3, sd_stride=2, sd_padding=0, sd_depth=1),
    ]
    # Scenes are numbered in the order they stand, so a new one can go anywhere.
    for number, item in enumerate(scenes, start=1):
        item.title = f"{number}. {re.sub(r'^[0-9]+[.] ', '', item.title)}"
    return Lesson(f"Intro to CNNs: the course in {len(scenes)} views", scenes)


if __name__ == "__main__":
    OUT.write_text(intro_course().to_json() + "\n")
    print(f"wrote {OUT}")
