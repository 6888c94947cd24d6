import torch

from models.data import MNIST_CLASSES, ImageSet
from models.strides import stride_peak_strength
from models.upsampler import UPSAMPLERS, Upsampler, halve, train_upsampler


def _blobs(n=256):
    generator = torch.Generator().manual_seed(0)
    images = torch.zeros(n, 1, 28, 28, dtype=torch.uint8)
    for i in range(n):
        r, c = torch.randint(4, 20, (2,), generator=generator).tolist()
        images[i, 0, r : r + 6, c : c + 6] = 255
    return ImageSet("mnist", images, torch.zeros(n, dtype=torch.long), MNIST_CLASSES)


def test_shapes():
    x = halve(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
    assert x.shape == (2, 1, 14, 14)
    for mode in UPSAMPLERS:
        assert Upsampler(mode)(x).shape == (2, 1, 28, 28)


def test_training_lowers_the_loss_and_is_repeatable():
    data = _blobs()
    for mode in UPSAMPLERS:
        _, losses = train_upsampler(mode, data, steps=60)
        assert sum(losses[-10:]) < 0.6 * sum(losses[:10])
        assert train_upsampler(mode, data, steps=5)[1] == train_upsampler(mode, data, steps=5)[1]


def test_transposed_conv_paints_a_checkerboard_and_resize_conv_does_not():
    """At initialisation, on a blank input, the stride-2 3x3 transposed conv's uneven overlap
    shows as a period-2 peak; resize + conv has none to speak of."""
    blank = torch.zeros(1, 1, 14, 14)
    with torch.no_grad():
        torch.manual_seed(0)
        transposed = Upsampler("transposed conv")(blank)[0, 0].numpy()
        torch.manual_seed(0)
        resized = Upsampler("resize + conv")(blank)[0, 0].numpy()
    assert stride_peak_strength(transposed, 2) > 3 * stride_peak_strength(resized, 2)
