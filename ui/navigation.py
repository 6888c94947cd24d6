"""The app's pages: one table that app.py builds its navigation from and that scenes name
pages by (their URL path)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    file: str
    title: str
    icon: str
    url_path: str       # "" for the home page


SECTIONS: dict[str, list[PageInfo]] = {
    "Start": [
        PageInfo("pages/home.py", "Welcome", ":material/home:", ""),
        PageInfo("pages/draw_digit.py", "Draw a digit", ":material/draw:", "draw"),
        PageInfo("pages/softmax.py", "Softmax vs log-softmax", ":material/bar_chart:", "softmax"),
    ],
    "Seeing inside a CNN": [
        PageInfo("pages/convolution.py", "Convolution, step by step", ":material/grid_on:", "convolution"),
        PageInfo("pages/feature_maps.py", "Feature maps and ReLU", ":material/layers:", "feature-maps"),
        PageInfo("pages/kernels.py", "Kernels: 3×3, 7×7, 11×11", ":material/apps:", "kernels"),
        PageInfo("pages/gradcam.py", "Grad-CAM", ":material/visibility:", "grad-cam"),
        PageInfo("pages/strides.py", "Strides and the checkerboard", ":material/grid_4x4:", "strides"),
        PageInfo("pages/architectures.py", "Famous architectures", ":material/account_tree:", "architectures"),
    ],
    "Training dynamics": [
        PageInfo("pages/initialisation.py", "Inputs and initialisation", ":material/start:", "initialisation"),
        PageInfo("pages/activations.py", "Activation functions", ":material/show_chart:", "activations"),
        PageInfo("pages/learning_rate.py", "Learning rate and batch size", ":material/speed:", "learning-rate"),
        PageInfo("pages/overfitting.py", "Overfitting and regularisation", ":material/difference:", "overfitting"),
        PageInfo("pages/batch_norm.py", "Batch norm", ":material/stacked_line_chart:", "batch-norm"),
        PageInfo("pages/plain_vs_residual.py", "Plain vs residual nets", ":material/stacks:",
                 "plain-vs-residual"),
        PageInfo("pages/teacher.py", "The training worker", ":material/memory:", "worker"),
    ],
    "Build your own": [
        PageInfo("pages/lab.py", "Architecture lab", ":material/construction:", "lab"),
    ],
}

BY_PATH: dict[str, PageInfo] = {page.url_path: page for pages in SECTIONS.values() for page in pages}
