import threading

import pytest
import torch
from torch import nn

from models import build
from models.probes import private_copy, relu_layers, relu_maps, unit_input_gradient
from models.receptive_field import Field, receptive_fields


@pytest.mark.parametrize("arch, kwargs, shape, count", [
    ("gap-mnist", {}, (1, 28, 28), 6),
    ("cifar-resnet", {"depth": 20}, (3, 32, 32), 19),
])
def test_relu_maps_shapes_and_values(arch, kwargs, shape, count):
    torch.manual_seed(0)
    model = build(arch, **kwargs).eval()
    maps = relu_maps(model, torch.randn(1, *shape))
    assert [m.name for m in maps] == relu_layers(model)
    assert len(maps) == count
    for m in maps:
        assert m.pre.shape == m.post.shape and m.pre.dim() == 3
        assert torch.equal(m.post, torch.relu(m.pre))
        assert (m.post >= 0).all()
        assert 0 < m.zero_share < 1
    if arch == "gap-mnist":
        assert [tuple(m.pre.shape) for m in maps] == [
            (8, 26, 26), (16, 24, 24), (16, 10, 10), (16, 8, 8), (16, 6, 6), (16, 6, 6)]
    else:
        assert tuple(maps[0].pre.shape) == (16, 32, 32) and tuple(maps[-1].pre.shape) == (64, 8, 8)


def test_probes_leave_the_shared_model_untouched():
    model = build("gap-mnist").eval()
    relu_maps(model, torch.randn(1, 1, 28, 28))
    unit_input_gradient(model, torch.randn(1, 1, 28, 28), "conv3.2", 2, 2)
    assert all(not m._forward_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_concurrent_probes_see_their_own_inputs():
    torch.manual_seed(0)
    model = build("gap-mnist").eval()
    inputs = [torch.randn(1, 1, 28, 28) for _ in range(8)]
    expected = [relu_maps(model, x)[-1].pre for x in inputs]
    results = [None] * len(inputs)

    def work(i):
        for _ in range(5):
            results[i] = relu_maps(model, inputs[i])[-1].pre

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        assert torch.equal(got, want)


def _fields(model, shape):
    return {f.name: f.field for f in receptive_fields(model, shape)}


def test_private_copies_are_lent_and_come_back_clean():
    model = build("gap-mnist").eval()
    with private_copy(model) as first:
        with private_copy(model) as second:   # held at the same time: two different copies
            assert first is not second and first is not model
    with private_copy(model) as again:
        assert again in (first, second)   # lent again, not copied again
        assert not any(p.requires_grad for p in again.parameters()) and not again.training
        handle = again.conv1.register_forward_hook(lambda *args: None)   # left behind on purpose
    handle.remove()
    with private_copy(model) as third:
        assert third is not again or not third.conv1._forward_hooks
    with pytest.raises(RuntimeError):
        with private_copy(model) as failed:
            raise RuntimeError("a probe failed half-way")
    with private_copy(model) as fourth, private_copy(model) as fifth:
        assert failed not in (fourth, fifth)   # a copy whose probe failed is not lent again
    with torch.no_grad():
        assert torch.equal(relu_maps(model, torch.ones(1, 1, 28, 28))[0].pre,
                           relu_maps(model, torch.ones(1, 1, 28, 28))[0].pre)


def test_stacked_3x3_convs_grow_by_two():
    model = nn.Sequential(*[nn.Conv2d(1, 1, 3) for _ in range(5)], nn.MaxPool2d(2), nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3))
    fields = _fields(model, (1, 64, 64))
    assert [fields[str(i)].size for i in range(5)] == [3, 5, 7, 9, 11]
    assert all(fields[str(i)].jump == 1 for i in range(5))
    assert fields["5"].size == 12 and fields["5"].jump == 2      # 2x2 max-pool: jump doubles
    assert fields["6"].size == 16 and fields["7"].size == 20     # after it, 3x3 adds 2 * jump


def test_stride_padding_dilation():
    model = nn.Sequential(nn.Conv2d(1, 1, 3, stride=2, padding=1), nn.Conv2d(1, 1, 3, dilation=2), nn.Conv2d(1, 1, 5, stride=3))
    fields = _fields(model, (1, 40, 40))
    assert fields["0"] == Field(size=3, jump=2, start=0)
    assert fields["1"].size == 3 + 4 * 2 and fields["1"].jump == 2
    assert fields["2"].size == 11 + 4 * 2 and fields["2"].jump == 6


def test_resnet_fields_follow_the_deeper_branch():
    fields = _fields(build("cifar-resnet", depth=20), (3, 32, 32))
    assert fields["stem"].size == 3
    assert fields["layer1.0.relu2"].size == 7       # the residual branch, not the shortcut's 3
    assert fields["layer3.2.relu2"].size == 81 and fields["layer3.2.relu2"].jump == 4


def test_theoretical_field_equals_gradient_support():
    """All weights positive, no BN, a positive input: every ReLU passes, so the input pixels
    with a non-zero gradient are exactly the receptive field (clipped to the image)."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Conv2d(3, 3, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(3, 2, 3, dilation=2), nn.ReLU(), nn.AvgPool2d(2), nn.Conv2d(2, 2, 3), nn.ReLU(),
    )
    for p in model.parameters():
        p.data = p.data.abs() + 0.01
    x = torch.rand(1, 1, 48, 48) + 0.1
    fields = _fields(model, (1, 48, 48))
    maps = relu_maps(model, x)
    for relu in ("1", "3", "5", "8"):
        h, w = next(m for m in maps if m.name == relu).pre.shape[1:]
        for row, col in [(0, 0), (h // 2, w // 3), (h - 1, w - 1)]:
            gradient = unit_input_gradient(model, x, relu, row, col)
            top, left, bottom, right = fields[relu].patch(row, col)
            expected = torch.zeros(48, 48, dtype=torch.bool)
            expected[max(0, int(top)) : int(bottom) + 1, max(0, int(left)) : int(right) + 1] = True
            assert torch.equal(gradient > 0, expected), (relu, row, col)


def test_tracing_for_receptive_fields_while_other_threads_run_nets():
    """torch.fx patches nn.Module for the whole process while it traces; a student's forward
    pass in another thread at that moment used to crash (and to corrupt the trace)."""
    from models.resnet import cifar_resnet

    shared, traced = cifar_resnet(20).eval(), cifar_resnet(20).eval()
    expected = [(f.name, f.field.size) for f in receptive_fields(shared, (3, 32, 32))]
    errors, stop = [], threading.Event()

    def forward_passes():
        x = torch.randn(2, 3, 32, 32)
        while not stop.is_set():
            try:
                with torch.no_grad():
                    shared(x)
            except Exception as error:   # noqa: BLE001 - any failure is the finding
                errors.append(repr(error))

    runner = threading.Thread(target=forward_passes)
    runner.start()
    try:
        for _ in range(20):
            receptive_fields(traced, (3, 32, 32))
            assert [(f.name, f.field.size) for f in receptive_fields(shared, (3, 32, 32))] == expected
    finally:
        stop.set()
        runner.join()
    assert errors == []
