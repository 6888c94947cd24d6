import streamlit as st

from ui.presenter import teaching

st.title("CNN Lab")
teaching(
    "How does a convolutional network see? Every page here runs a real PyTorch net on real "
    "data — poke it and watch what changes. The sidebar says which trained model the pages use "
    "(you can switch) and where training runs.",
    "How does a convolutional network see?",
)

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
