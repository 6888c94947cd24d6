import streamlit as st

from models import data
from ui import join, teacher
from ui import models as ui_models
from ui.presenter import presenting, teaching

st.title("CNN Lab")
teaching(
    "How does a convolutional network see? Every page here runs a real PyTorch net on real "
    "data — poke it and watch what changes. The sidebar says which trained model the pages use "
    "(you can switch) and where training runs.",
    "How does a convolutional network see?",
)

# --- What this class can do now, and what a teacher may add ----------------------------------------
entries = ui_models.catalogue()[0]
models_here = {title: sum(e.dataset == dataset for e in entries) for dataset, title in ui_models.DATASET_TITLES.items()}
full = {name: data.full_data_present(name) for name in ("mnist", "cifar10")}
models_text = ", ".join(f"{n} {title} model{'s' if n != 1 else ''}" for title, n in models_here.items())
status, code = st.columns([3, 1], gap="large")
with status:
    st.markdown(
        f"**Ready now:** {models_text}; "
        + ("the full MNIST and CIFAR-10 sets are here, so every page can train."
           if all(full.values()) else
           "pages show and probe images from "
           + " and ".join(("the full " if full[n] else "the shipped 1,000-image sample of the ") + data.TITLES[n]
                          + " test set" for n in full) + "."))
    missing = [data.TITLES[n] for n, present in full.items() if not present]
    todo = []
    if missing:
        todo.append(f"to train in class, add the full {' and '.join(missing)} data: `python -m models.data --download` "
                    f"on a machine with internet fills `{data.data_root()}` (or set `CNN_LAB_DATA` to a folder that has "
                    "them)")
    if teacher.configured_key() is None:
        todo.append("to keep training and saving for yourself, start the app with a teacher key: "
                    "`CNN_LAB_TEACHER_KEY=<a long secret> streamlit run app.py`")
    if todo:
        st.markdown("**You may want** " + "; ".join(todo) + ".")
with code:
    url = join.class_url()
    st.markdown(f"**Students open** `{url}`")
    join.show_qr(url, 420 if presenting() else 200)

SECTIONS = {
    "Start": [
        ("pages/draw_digit.py", "Draw a digit", ":material/draw:",
         "Draw a digit and the course's GAP MNIST net (under 10,000 parameters, no fully connected "
         "layer) classifies it as you draw. See the 28×28 picture the net really receives, and how "
         "sure it is of each class."),
        ("pages/softmax.py", "Softmax vs log-softmax", ":material/bar_chart:",
         "Turn the net's raw scores into confidences. Edit the scores, change the temperature, and "
         "see why training minimises the negative log-likelihood and why log-softmax is computed "
         "with the log-sum-exp trick."),
    ],
    "Seeing inside a CNN": [
        ("pages/convolution.py", "Convolution, step by step", ":material/grid_on:",
         "Slide a kernel over a digit one position at a time: the pixels under it, the nine "
         "products, their sum landing in the output map. Padding, stride and dilation with the "
         "output-size formula; colour (3×3×3) kernels; the 1×1 convolution; conv vs fully "
         "connected parameter counts."),
        ("pages/feature_maps.py", "Feature maps and ReLU", ":material/layers:",
         "Every channel of every layer for your digit or a CIFAR-10 photo, before and after ReLU; "
         "how much ReLU throws away at each depth; and the patch of the input that one pixel of a "
         "feature map sees — its receptive field, in theory and in gradients."),
        ("pages/kernels.py", "Kernels: 3×3, 7×7, 11×11", ":material/apps:",
         "First-layer kernels before and after training at 3×3, 7×7 and 11×11; the test patches that "
         "excite deeper units most and an input grown to excite them; the course's receptive-field table."),
        ("pages/gradcam.py", "Grad-CAM", ":material/visibility:",
         "Ask the ResNet why it said “cat” and where it would see a dog: Grad-CAM heatmaps for any "
         "layer and any class, Guided Grad-CAM, and the sanity check with scrambled weights."),
        ("pages/strides.py", "Strides and the checkerboard", ":material/grid_4x4:",
         "How often a strided convolution uses each pixel, why transposed convolutions paint "
         "checkerboards, the grid hidden in a trained ResNet's gradients, and a live race between "
         "two upsamplers."),
    ],
    "Training dynamics": [
        ("pages/initialisation.py", "Inputs and initialisation", ":material/start:",
         "Where MNIST's 0.1307 and 0.3081 come from, measured on the data, and a run without them; how "
         "far the activations spread layer by layer under zero, too small, Xavier, He and too large "
         "initial weights; why kernels that start equal stay equal."),
        ("pages/activations.py", "Activation functions", ":material/show_chart:",
         "ReLU, Leaky ReLU, PReLU, ELU, Swish, sigmoid and tanh with their derivatives; the GAP net "
         "trained with each; and the net with no non-linearity, read off as the linear classifier it is."),
        ("pages/learning_rate.py", "Learning rate and batch size", ":material/speed:",
         "The same net at four learning rates, from crawling to NaN; the learning-rate range test; the "
         "one-cycle schedule; batch sizes from 8 to 512, with and without scaling the learning rate."),
        ("pages/overfitting.py", "Overfitting and regularisation", ":material/difference:",
         "Train on 1,000 images and watch training and held-out accuracy part; dropout, weight decay, "
         "augmentation and Cutout against the gap, and where early stopping would stop; dropout in "
         "numbers; augmented samples from the training loop's own functions."),
        ("pages/batch_norm.py", "Batch norm", ":material/stacked_line_chart:",
         "Train the same net with and without BatchNorm side by side and watch what each layer "
         "receives drift (or not); train vs eval mode; what BatchNorm, LayerNorm, InstanceNorm and "
         "GroupNorm average over."),
        ("pages/plain_vs_residual.py", "Plain vs residual nets", ":material/stacks:",
         "Why ResNets have skip connections: a 56-layer plain net trains worse than a 20-layer one, "
         "a 56-layer ResNet better. The four training runs of He et al.'s Figure 6, the gradient "
         "each layer gets at the start, and a button to train one again."),
        ("pages/teacher.py", "The training worker", ":material/memory:",
         "What is training right now, what waits in the queue, and the GPU's memory; the teacher "
         "can stop or reorder runs."),
    ],
    "Build your own": [
        ("pages/lab.py", "Architecture lab", ":material/construction:",
         "Write a net layer by layer (or start from the course's GAP net, an FC-head twin or "
         "ResNet-20), watch shapes, parameters and receptive fields update, train it, and save it "
         "so every other page can look inside it."),
    ],
}

for section, pages in SECTIONS.items():
    st.subheader(section)
    for path, label, icon, text in pages:
        st.page_link(path, label=label, icon=icon)
        st.markdown(text)
