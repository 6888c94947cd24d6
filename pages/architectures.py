import pandas as pd
import streamlit as st

from models import architectures as arch
from models import imagenet
from models.checkpoints import CheckpointError
from models.kernels import kernel_tiles
from ui.projector import teaching
from viz.architectures import accuracy_against_cost, gap_head, parameter_kinds, si, stage_shares
from viz.kernels import tile_grid

st.title("Famous architectures, measured")
teaching(
    "The ImageNet years in five nets: AlexNet (2012), VGG-16 and GoogLeNet (2014), ResNet-18 and "
    "ResNet-50 (2015), beside this course's two small nets. Nothing below is typed in except the "
    "published accuracies: every count is measured on the real nets as torchvision builds them. "
    "**What to notice:** where the parameters sit (the old fully connected heads) is not where the "
    "work is done (the convolutions); and after 2014 the nets settle on one pattern — a small stem, "
    "then four blocks from 56×56 down to 7×7 with twice the channels each time, then global "
    "average pooling.",
    "Five famous nets, measured: where their parameters and their operations are.",
)
st.caption(
    "Measured once per server on the nets torchvision builds without weights, on PyTorch's meta device "
    "(shapes only, no memory). **MACs** are multiply-accumulates per image — the FLOPs that "
    "`torch.utils.flop_counter` counts for convolutions and matrix products, divided by 2 (pooling, "
    "normalisation, ReLU and additions are not counted). **Activations** are the bytes of every new "
    "float32 tensor one forward pass of one image writes (every layer's output; in-place operations and "
    "views write none; the input image is not counted). The ImageNet nets see 224×224 colour images, "
    "the course's nets their own 28×28 and 32×32 inputs."
)

nets = {r.key: r for r in arch.reports()}
alex, vgg, google, r18, r50 = (nets[key] for key in ("alexnet", "vgg16", "googlenet", "resnet18", "resnet50"))
imagenet_nets = [nets[key] for key in arch.IMAGENET_NETS]


def names(items) -> str:
    items = list(items)
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def number(n: int) -> str:
    return {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}.get(n, str(n))


def short(r) -> str:
    return r.label.split(" (")[0]


def table(rows: list[dict], **widths) -> None:
    """A table whose whole-number columns read with thousands separators."""
    frame = pd.DataFrame(rows)
    config = {column: st.column_config.NumberColumn(format="localized") for column in frame.columns
              if pd.api.types.is_integer_dtype(frame[column]) and frame[column].abs().max() >= 10_000}
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config)


def side(shape) -> str:
    return f"{shape[1]}×{shape[2]}×{shape[0]}" if len(shape) == 3 else f"{shape[0]} scores"


# --- 1. Parameters by kind of layer ------------------------------------------------------------
st.subheader("Where the parameters are")
left, right = st.columns(2, gap="large")
left.plotly_chart(parameter_kinds([r.label for r in nets.values()], [r.params for r in nets.values()]),
                  width="stretch")
right.plotly_chart(gap_head([r.label.split(" (")[0] for r in nets.values()], [r.total_params for r in nets.values()],
                            [r.gap_head_params for r in nets.values()]), width="stretch")
already = [r for r in imagenet_nets if r.gap_head_params == r.total_params]
st.markdown(
    f"VGG-16's {number(vgg.fc_layers)} fully connected layers hold **{vgg.fc_share:.0%}** of its "
    f"{si(vgg.total_params)} parameters, yet do only {vgg.fc_macs / vgg.macs:.1%} of its multiply-accumulates. "
    f"With a GAP head instead (average each of the {vgg.head_channels} last maps to one number, then one "
    f"linear layer to {vgg.classes} classes) the same net would have {si(vgg.gap_head_params)} parameters: "
    f"{vgg.total_params / vgg.gap_head_params:.1f}× fewer. AlexNet: {alex.fc_share:.0%} in its "
    f"{number(alex.fc_layers)} fully connected layers, {si(alex.total_params)} → {si(alex.gap_head_params)} with a GAP "
    f"head. {names(short(r) for r in already)} already end in GAP + one linear layer: "
    f"their fully connected share is {min(r.fc_share for r in already):.0%}–{max(r.fc_share for r in already):.0%}."
)
table([{
    "net": r.label, "year": r.year, "trained on": r.dataset,
    "parameters": r.total_params, "convolution": r.params["convolution"],
    "fully connected": r.params["fully connected"], "normalisation": r.params["normalisation"],
    "FC share": f"{r.fc_share:.1%}", "with a GAP head": r.gap_head_params,
} for r in nets.values()])

# --- 2. Operations and memory ---------------------------------------------------------------------
st.subheader("What one image costs")
table([{
    "net": r.label, "input": "×".join(map(str, r.input_shape[1:])) + ("" if r.input_shape[0] == 1 else " colour"),
    "multiply-accumulates": r.macs, "in FC layers": f"{r.fc_macs / r.macs:.1%}",
    "MACs per weight": round(r.macs / r.total_params),
    "activations (MB)": round(r.activation_bytes / 2**20, 2), "weights (MB)": round(r.total_params * 4 / 2**20, 2),
} for r in nets.values()])
st.caption("MB = 2²⁰ bytes, float32. “MACs per weight”: how often each weight is used on one image — "
           "a convolution's weights at every position, a fully connected layer's once.")
st.markdown(
    f"VGG-16 needs **{vgg.macs / alex.macs:.0f}×** AlexNet's multiply-accumulates per image "
    f"({si(vgg.macs)} against {si(alex.macs)}); ResNet-50 needs {r50.macs / vgg.macs:.0%} of VGG-16's. "
    f"One image's activations take {vgg.activation_bytes / 2**20:.0f} MB in VGG-16 and "
    f"{r50.activation_bytes / 2**20:.0f} MB in ResNet-50 — a batch of 256 needs that 256 times over, "
    "and training keeps them for the backward pass, so activations, not weights, fill a GPU's memory."
)

# --- 3. Stage by stage ----------------------------------------------------------------------------
st.subheader("Stage by stage: the pattern modern nets share")
key = st.selectbox("Net", list(nets), index=list(nets).index("resnet18"), format_func=lambda k: nets[k].label,
                   key="ar_net")
net = nets[key]
table([{
    "stage": s.label, "layers": s.layers, "output": side(s.out_shape),
    "receptive field (px)": "the whole image" if s.field is None else f"{s.field:.0f}",
    "jump (px)": "—" if s.jump is None else f"{s.jump:.0f}", "parameters": s.params, "MACs": s.macs,
} for s in net.stages])
chart, words = st.columns([2, 3], gap="large")
chart.plotly_chart(stage_shares([s.label.split(":")[0] for s in net.stages], [s.params for s in net.stages],
                                [s.macs for s in net.stages], f"{short(net)}: each stage's share"), width="stretch")
input_side = net.input_shape[1]
chain = " → ".join([side((net.input_shape[0], input_side, input_side))] +
                   [side(s.out_shape) for s in net.stages if len(s.out_shape) == 3])
last = [s for s in net.stages if s.field is not None][-1]
words.markdown(
    f"{net.label}: {chain}. One unit of its last stage sees **{last.field:.0f}×{last.field:.0f}** input pixels"
    + (f" — more than the {input_side}×{input_side} image: its edges see the zero padding."
       if last.field > input_side else ".")
    + (f" {net.note}" if net.note else "")
)
if net.dataset == "ImageNet":
    grids = arch.grid_channels(net)
    if all(grids.values()):
        outs = [grids[s].out_shape[0] for s in grids]
        inner = [grids[s].spatial_widths[0] for s in grids]
        text = (f"Its stages work at 56×56, 28×28, 14×14 and 7×7 and end with {' → '.join(map(str, outs))} channels")
        if inner != outs:
            text += (f"; the 3×3 convolutions inside work at {' → '.join(map(str, inner))} and 1×1 convolutions "
                     f"widen each output {outs[0] // inner[0]}×")
        words.markdown(text + ".")
    else:
        sides = dict.fromkeys(s.spatial_side for s in net.stages if s.spatial_side is not None)
        words.markdown(f"Its convolutions do not work at all four grids 56, 28, 14, 7: its stages' last k×k "
                       f"convolutions work at {', '.join(f'{n}×{n}' for n in sides)}.")

heaviest = max(net.stages, key=lambda s: s.params)
busiest = max(net.stages, key=lambda s: s.macs)
words.markdown(
    f"Most parameters sit in **{heaviest.label}** ({heaviest.params / net.total_params:.0%}); most of the work is "
    f"done in **{busiest.label}** ({busiest.macs / net.macs:.0%} of the multiply-accumulates)"
    + (": they are different places — a weight near the input is used at every one of many positions, one near "
       "the output at few." if heaviest is not busiest else ".")
)

st.markdown("**Four blocks, 64 → 512, from 56×56** — the channels of the last stage whose convolutions work at "
            "each grid size (a stage that ends in a pooling hands on a grid half as wide):")
table([{
    "net": r.label, "first conv": f"{r.first_conv.kernel}×{r.first_conv.kernel}/{r.first_conv.stride}, "
                                  f"{r.first_conv.kernels} kernels",
    "first conv weights": r.first_conv.params,
    "its output": f"{r.first_conv.out_side}×{r.first_conv.out_side}",
    **{f"{n}×{n}": ("—" if s is None else str(s.out_shape[0]) + (
        f" (3×3 at {s.spatial_widths[0]})" if s.spatial_widths and s.spatial_widths[0] != s.out_shape[0]
        and len(s.spatial_widths) == 1 else "")) for n, s in arch.grid_channels(r).items()},
} for r in imagenet_nets])
pattern = [r.label for r in imagenet_nets
           if all(s and s.spatial_widths[:1] == (w,) for s, w in zip(arch.grid_channels(r).values(), (64, 128, 256, 512)))]
alex_first = alex.first_conv
res_stem = r18.stages[0]
st.markdown(
    f"{names(pattern)} follow the pattern exactly (counting the channels of their 3×3 convolutions). AlexNet differs at the start: one "
    f"{alex_first.kernel}×{alex_first.kernel} convolution with stride {alex_first.stride} "
    f"({alex_first.params:,} weights) jumps straight to {alex_first.out_side}×{alex_first.out_side}, "
    f"each unit seeing {alex_first.field:.0f} pixels. ResNet's stem — a {r18.first_conv.kernel}×"
    f"{r18.first_conv.kernel}/{r18.first_conv.stride} convolution ({r18.first_conv.params:,} weights) and a "
    f"max-pool — reaches {side(res_stem.out_shape)}, each unit seeing {res_stem.field:.0f} pixels, at "
    + ("the same" if res_stem.jump == alex_first.jump else "a")
    + f" jump of {res_stem.jump:.0f} pixels between neighbouring units. Each stage's receptive field comes from "
    "`models.receptive_field`, traced through the real net (residual additions and Inception's "
    "concatenations included)."
)

vgg_block3 = vgg.stages[2]
vgg_side = vgg.stages[1].out_shape[1]
stacks = arch.stacked_versus_single(vgg_block3.spatial_widths[0], vgg_side)
st.markdown(f"**VGG's argument: stacked 3×3s** — {vgg_block3.spatial_widths[0]} channels in and out (VGG-16's "
            f"block 3), on its {vgg_side}×{vgg_side} maps:")
table([{
    "layers": f"{k.layers} × {k.kernel}×{k.kernel}", "receptive field (px)": int(k.field), "weights": k.params,
    "MACs": k.macs, "ReLUs": k.nonlinearities,
} for pair in stacks for k in pair])
(two, five), (three, seven) = stacks
st.markdown(
    f"Three stacked 3×3 layers see {three.field:.0f}×{three.field:.0f} pixels, like one {seven.kernel}×{seven.kernel}, "
    f"with {three.params / seven.params:.0%} of its weights ({three.params:,} against {seven.params:,}) and "
    f"{three.nonlinearities} ReLUs instead of {seven.nonlinearities}; two 3×3s replace a 5×5 with "
    f"{two.params / five.params:.0%} of its weights."
)

# --- 4. Inception's 1×1 bottleneck ------------------------------------------------------------------
st.subheader("Inception's 1×1 bottleneck")
costs = arch.inception_costs("inception3a")
block_in = arch.inception_input("inception3a")
table([{
    "third branch": f"{c.big_kernel}×{c.big_kernel} ({c.variant})",
    "1×1 reductions": "with" if c.reductions else "without", "parameters": c.params, "MACs": c.macs,
    "channels out": c.out_channels,
} for c in costs])
built, naive, paper, paper_naive = costs
st.markdown(
    "The four branches, as torchvision builds them:\n"
    + "".join(f"- **{'with' if c.reductions else 'without'} the 1×1 reductions:** " + " · ".join(c.branches) + "\n"
              for c in (built, naive))
)
st.markdown(
    f"GoogLeNet's first Inception block (`inception3a`) gets {block_in[1]}×{block_in[2]} maps with "
    f"{block_in[0]} channels. As torchvision builds it, its 1×1 reductions cut the block from "
    f"{si(naive.macs)} to **{si(built.macs)}** multiply-accumulates ({naive.macs / built.macs:.1f}× fewer) "
    f"and from {naive.params:,} to {built.params:,} parameters; with the paper's 5×5 kernel the cut is "
    f"{paper_naive.macs / paper.macs:.1f}× ({si(paper_naive.macs)} → {si(paper.macs)}). Without them the "
    f"pool branch also passes all {block_in[0]} channels through, so the block would hand "
    f"{naive.out_channels} channels instead of {built.out_channels} to the next one, and every block after it "
    "would grow again."
)

# --- 5. Accuracy against cost -------------------------------------------------------------------------
st.subheader("Accuracy against cost")
human = arch.human_top5()
st.plotly_chart(accuracy_against_cost([r.label.split(" (")[0] for r in imagenet_nets], [r.macs for r in imagenet_nets],
                                      [r.total_params for r in imagenet_nets], [r.top1 for r in imagenet_nets],
                                      [r.top5 for r in imagenet_nets], human), width="stretch")
best = max(imagenet_nets, key=lambda r: r.top1)
st.markdown(
    f"The most accurate of the five, {best.label}, reaches {best.top1:.1f} % top-1 with {si(best.macs)} "
    f"multiply-accumulates and {si(best.total_params)} parameters; VGG-16 spends {si(vgg.macs)} and "
    f"{si(vgg.total_params)} for {vgg.top1:.1f} %. From AlexNet to ResNet-50 top-1 rose "
    f"{r50.top1 - alex.top1:.1f} points and top-5 {r50.top5 - alex.top5:.1f}. The lecture's “humans ≈ 95 %” is a "
    f"**top-5** figure (a trained annotator's top-5 error of {100 - human:.1f} % on 1,500 validation images): "
    "compare it with the orange diamonds, not with the bubbles. Nobody measured a human top-1."
)
st.markdown(
    "**Sources of the only typed figures.** Accuracies (" + arch.ACCURACY_TERMS + "):\n"
    + "".join(f"- {r.label}: {r.top1:.3f} % top-1, {r.top5:.3f} % top-5 — {r.accuracy_source}; "
              f"architecture: {r.paper}.\n" for r in imagenet_nets)
    + "- Human: Russakovsky et al. 2015, *ImageNet Large Scale Visual Recognition Challenge* (IJCV), "
    f"section 6.4: top-5 error {100 - human:.1f} %.\n\n"
    "The course's two nets are not on the chart: they were trained on MNIST and CIFAR-10, not ImageNet."
)

# --- 6. First-layer kernels of the ImageNet nets --------------------------------------------------------
st.subheader("What the ImageNet nets' first layers learned")
STEMS = {"AlexNet: 64 kernels, 11×11": imagenet.ALEXNET_WEIGHTS, "ResNet-18: 64 kernels, 7×7": imagenet.WEIGHTS}


@st.cache_resource(show_spinner="Reading the first layer from the ImageNet weights…", max_entries=4)
def first_layer_tiles(name: str, modified: float):
    return kernel_tiles(imagenet.first_layer_kernels(STEMS[name]), colour=True)


columns = st.columns(len(STEMS), gap="large")
missing = []
for column, (name, weights) in zip(columns, STEMS.items()):
    if not imagenet.available(weights):
        missing.append((name, weights))
        continue
    try:
        tiles = first_layer_tiles(name, imagenet.weights_path(weights).stat().st_mtime)
    except CheckpointError as error:
        column.error(f"{name}: the weights file on this machine cannot be used ({error}).")
        continue
    column.plotly_chart(tile_grid(tiles, name, tile_px=60), width="stretch")
if len(missing) < len(STEMS):
    st.caption("Each tile is one kernel's weights on the red, green and blue input channels (grey is 0), "
               "one scale per layer. Look for edges at many angles, colour blobs and fine stripes: trained "
               "first layers learn them, untrained ones are noise.")
for name, weights in missing:
    st.info(f"**{name.split(':')[0]}**: the trained ImageNet weights are not on this computer, so its first-layer "
            "kernels cannot be shown here.")
if missing:
    with st.expander("For the teacher: adding the ImageNet weights"):
        for name, weights in missing:
            st.markdown(
                f"**{name.split(':')[0]}**: on a computer with internet, run `python -c \"import torchvision; "
                f"torchvision.models.{imagenet.BUILDERS[weights]}(weights='IMAGENET1K_V1')\"` once; it saves a file "
                f"called `{imagenet.weights_path(weights).name}`. Copy that file into "
                f"`{imagenet.weights_path(weights).parent}` on this computer and reload the page.")
