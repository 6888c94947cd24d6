"""The app's pages: the one table that app.py builds its navigation from, the Welcome page
lists, and scenes name pages by (their URL path). Each entry carries the controls its scenes
capture and restore: glob patterns over the session-state keys of its widgets (buttons, uploads
and editors excluded by ui.scenes.NOT_CONTROLS), so a link or a lesson reaches nothing else."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    file: str
    title: str
    icon: str
    url_path: str       # "" for the home page
    controls: tuple[str, ...]
    summary: str        # what the page teaches, for the Welcome page


SECTIONS: dict[str, list[PageInfo]] = {
    "Start": [
        PageInfo("pages/home.py", "Welcome", ":material/home:", "",
                 controls=(),
                 summary=(
                 'Where to start, what this class can do now, and the address students open.'
                 )),
        PageInfo("pages/draw_digit.py", "Draw a digit", ":material/draw:", "draw_digit",
                 controls=('digit_source', 'stroke_width', 'digit_index', 'digit_class'),
                 summary=(
                 "Draw a digit and the course's GAP MNIST net (under 10,000 parameters, no fully connected "
                 'layer) classifies it as you draw. See the 28×28 picture the net really receives, and how '
                 'sure it is of each class.'
                 )),
        PageInfo("pages/softmax.py", "Softmax vs log-softmax", ":material/bar_chart:", "softmax",
                 controls=('softmax_source', 'softmax_index', 'softmax_class', 'softmax_scores', 'softmax_target',
                           'temperature', 'shift', 'scale', 'big_score'),
                 summary=(
                 "Turn the net's raw scores into confidences. Edit the scores, change the temperature, and see"
                 ' why training minimises the negative log-likelihood and why log-softmax is computed with the'
                 ' log-sum-exp trick.'
                 )),
    ],
    "Seeing inside a CNN": [
        PageInfo("pages/convolution.py", "Convolution, step by step", ":material/grid_on:", "convolution",
                 controls=('cv_*',),
                 summary=(
                 'Slide a kernel over a digit one position at a time: the pixels under it, the nine products, '
                 'their sum landing in the output map. Padding, stride and dilation with the output-size '
                 'formula; colour (3×3×3) kernels; the 1×1 convolution; conv vs fully connected parameter '
                 'counts.'
                 )),
        PageInfo("pages/feature_maps.py", "Feature maps and ReLU", ":material/layers:", "feature_maps",
                 controls=('fm_*',),
                 summary=(
                 'Every channel of every layer for your digit or a CIFAR-10 photo, before and after ReLU; how '
                 'much ReLU throws away at each depth; and the patch of the input that one pixel of a feature '
                 'map sees — its receptive field, in theory and in gradients.'
                 )),
        PageInfo("pages/kernels.py", "Kernels: 3×3, 7×7, 11×11", ":material/apps:", "kernels",
                 controls=('kn_*',),
                 summary=(
                 'First-layer kernels before and after training at 3×3, 7×7 and 11×11; the test patches that '
                 "excite deeper units most and an input grown to excite them; the course's receptive-field "
                 'table.'
                 )),
        PageInfo("pages/gradcam.py", "Grad-CAM", ":material/visibility:", "gradcam",
                 controls=('gc_*',),
                 summary=(
                 'Ask the ResNet why it said “cat” and where it would see a dog: Grad-CAM heatmaps for any '
                 'layer and any class, Guided Grad-CAM, and the sanity check with scrambled weights.'
                 )),
        PageInfo("pages/strides.py", "Strides and the checkerboard", ":material/grid_4x4:", "strides",
                 controls=('sd_*',),
                 summary=(
                 'How often a strided convolution uses each pixel, why transposed convolutions paint '
                 "checkerboards, the grid hidden in a trained ResNet's gradients, and a live race between two "
                 'upsamplers.'
                 )),
        PageInfo("pages/architectures.py", "Famous architectures", ":material/account_tree:", "architectures",
                 controls=('ar_*',),
                 summary=(
                 "AlexNet, VGG-16, GoogLeNet, ResNet-18 and ResNet-50 measured, beside the course's own nets: "
                 'parameters by kind of layer, multiply-accumulates, memory, stage-by-stage receptive fields, '
                 "Inception's 1×1 bottleneck, and accuracy against cost."
                 )),
    ],
    "Training dynamics": [
        PageInfo("pages/initialisation.py", "Inputs and initialisation", ":material/start:", "initialisation",
                 controls=('ii_*',),
                 summary=(
                 "Where MNIST's 0.1307 and 0.3081 come from, measured on the data, and a run without them; how"
                 ' far the activations spread layer by layer under zero, too small, Xavier, He and too large '
                 'initial weights; why kernels that start equal stay equal.'
                 )),
        PageInfo("pages/activations.py", "Activation functions", ":material/show_chart:", "activations",
                 controls=('ac_*',),
                 summary=(
                 'ReLU, Leaky ReLU, PReLU, ELU, Swish, sigmoid and tanh with their derivatives; the GAP net '
                 'trained with each; and the net with no non-linearity, read off as the linear classifier it '
                 'is.'
                 )),
        PageInfo("pages/learning_rate.py", "Learning rate and batch size", ":material/speed:", "learning_rate",
                 controls=('lr_*',),
                 summary=(
                 'The same net at learning rates from crawling to NaN; the learning-rate range test; the'
                 ' one-cycle schedule; batch sizes from 8 to 512, with and without scaling the learning rate.'
                 )),
        PageInfo("pages/overfitting.py", "Overfitting and regularisation", ":material/difference:", "overfitting",
                 controls=('of_*',),
                 summary=(
                 'Train on 1,000 images and watch training and held-out accuracy part; dropout, weight decay, '
                 'augmentation and Cutout against the gap, and where early stopping would stop; dropout in '
                 "numbers; augmented samples from the training loop's own functions."
                 )),
        PageInfo("pages/batch_norm.py", "Batch norm", ":material/stacked_line_chart:", "batch_norm",
                 controls=('bn_kind', 'bn_steps', 'bn_lr', 'bn_record', 'bn_layer', 'bn_moment', 'bn_spoil', 'bnf_*'),
                 summary=(
                 'Train the same net with and without BatchNorm side by side and watch what each layer '
                 'receives drift (or not); train vs eval mode; what BatchNorm, LayerNorm, InstanceNorm and '
                 'GroupNorm average over.'
                 )),
        PageInfo("pages/plain_vs_residual.py", "Plain vs residual nets", ":material/stacks:", "plain_vs_residual",
                 controls=('pr_*',),
                 summary=(
                 'Why ResNets have skip connections: He et al. found a 56-layer plain net trains worse than a '
                 '20-layer one and a 56-layer ResNet better. The four runs of their Figure 6, trained here (do'
                 ' they agree?), the gradient each layer gets at the start, and a button to train one again.'
                 )),
        PageInfo("pages/worker.py", "The training worker", ":material/memory:", "worker",
                 controls=(),
                 summary=(
                 "What is training right now, what waits in the queue, and the GPU's memory where there is one; the teacher can "
                 'stop or reorder runs.'
                 )),
    ],
    "Build your own": [
        PageInfo("pages/lab.py", "Architecture lab", ":material/construction:", "lab",
                 controls=('lab_preset', 'lab_layers', 'lab_dataset', 'lab_epochs', 'lab_batch', 'lab_lr',
                           'lab_optimizer'),
                 summary=(
                 "Write a net layer by layer (or start from the course's GAP net, an FC-head twin or "
                 'ResNet-20), watch shapes, parameters and receptive fields update, train it, and save it so '
                 'every other page can look inside it.'
                 )),
    ],
}

ALL_PAGES: list[PageInfo] = [page for pages in SECTIONS.values() for page in pages]
BY_PATH: dict[str, PageInfo] = {page.url_path: page for page in ALL_PAGES}
