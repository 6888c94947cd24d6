import copy
import math
import threading
from dataclasses import asdict

import pytest
import torch

from models import build
from models.augment import augment, random_affine, random_crop_flip
from models.data import ImageSet, MNIST_CLASSES, load
from models import train as train_module
from models.train import StateMismatchError, TrainConfig, choose_precision, evaluate, train, with_defaults, with_stem


@pytest.fixture(scope="module")
def small_mnist(data_available):
    train_set, test_set = load("mnist", train=True), load("mnist", train=False)
    subset = lambda s, n: ImageSet(s.name, s.images[:n], s.labels[:n], s.classes)  # noqa: E731
    return subset(train_set, 1024), subset(test_set, 500)


def _config(**kwargs):
    defaults = dict(epochs=1, batch_size=64, lr=0.05, device="cpu", report_every=1)
    return TrainConfig(**{**defaults, **kwargs})


def test_training_lowers_the_loss(small_mnist):
    torch.manual_seed(0)
    model = build("gap-mnist")
    train_set, test_set = small_mnist
    before = evaluate(model, test_set)
    result = train(model, train_set, test_set, _config(epochs=2))
    losses = [loss for _, loss in result.step_losses]
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5
    assert len(result.history) == 2 and not result.stopped
    assert result.test_accuracy > before + 0.2   # 32 steps: far from done, but learning


def test_same_seed_same_run(small_mnist):
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        model = build("gap-mnist")
        runs.append(train(model, small_mnist[0], None, _config()).step_losses)
    assert runs[0] == runs[1]


def test_progress_reports_and_stop_mid_epoch(small_mnist):
    stop = threading.Event()
    seen = []

    def on_progress(progress):
        seen.append(progress)
        if progress.step == 5:
            stop.set()

    model = build("gap-mnist")
    result = train(model, small_mnist[0], small_mnist[1], _config(epochs=3), on_progress, stop)
    assert result.stopped
    assert [p.step for p in seen] == [1, 2, 3, 4, 5]
    assert result.history == []   # no epoch finished
    assert not model.training      # handed back ready for inference


def test_epoch_end_reports_accuracy(small_mnist):
    seen = []
    train(build("gap-mnist"), small_mnist[0], small_mnist[1], _config(report_every=1000), seen.append)
    assert len(seen) == 1 and seen[0].epoch_end
    assert 0 <= seen[0].test_accuracy <= 1 and seen[0].train_accuracy is not None


def test_batch_larger_than_dataset_is_a_clear_error():
    tiny = ImageSet("mnist", torch.zeros(10, 1, 28, 28, dtype=torch.uint8), torch.zeros(10, dtype=torch.long), MNIST_CLASSES)
    with pytest.raises(ValueError, match="batch size"):
        train(build("gap-mnist"), tiny, None, _config(batch_size=64))


def test_crop_flip_moves_pixels_but_keeps_content():
    generator = torch.Generator().manual_seed(0)
    images = torch.zeros(64, 3, 32, 32)
    images[:, :, 10, 12] = 1.0   # one bright pixel
    out = random_crop_flip(images, padding=4, generator=generator)
    assert out.shape == images.shape
    assert torch.equal(out.sum((1, 2, 3)), torch.full((64,), 3.0))   # pixel kept (shift <= 4)
    positions = {tuple(torch.nonzero(o[0])[0].tolist()) for o in out}
    assert len(positions) > 10   # many different shifts/flips
    for row, col in positions:
        assert 6 <= row <= 14
        assert 8 <= col <= 16 or 15 <= col <= 23   # shifted, or mirrored then shifted


def test_affine_keeps_digits_recognisable():
    generator = torch.Generator().manual_seed(0)
    images = torch.zeros(16, 1, 28, 28)
    images[:, :, 8:20, 12:16] = 255.0
    out = random_affine(images, max_degrees=10, max_shift=2, generator=generator)
    assert out.shape == images.shape
    assert not torch.equal(out, images)
    mass = out.sum((1, 2, 3)) / images.sum((1, 2, 3))
    assert torch.all((mass > 0.9) & (mass < 1.1))   # rotated/shifted, nothing cut off


def test_the_fast_path_trains_in_bf16_where_the_cpu_has_it(small_mnist, monkeypatch):
    monkeypatch.setattr(train_module, "cpu_computes_bf16", lambda: True)
    torch.manual_seed(0)
    model = build("gap-mnist")
    seen_dtypes = set()
    model.register_forward_hook(lambda module, args, output: seen_dtypes.add(output.dtype))
    result = train(model, small_mnist[0], small_mnist[1], _config(epochs=2))
    assert result.precision.startswith("bfloat16")
    losses = [loss for _, loss in result.step_losses]
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5
    assert torch.bfloat16 in seen_dtypes          # the training steps ran under bf16 autocast
    assert torch.float32 in seen_dtypes           # and evaluation in float32
    assert all(p.dtype == torch.float32 for p in model.parameters())   # master weights stay float32


def test_without_native_bf16_the_cpu_falls_back_to_float32(small_mnist, monkeypatch):
    monkeypatch.setattr(train_module, "cpu_computes_bf16", lambda: False)
    seen_dtypes = set()
    model = build("gap-mnist")
    model.register_forward_hook(lambda module, args, output: seen_dtypes.add(output.dtype))
    result = train(model, small_mnist[0], None, _config())
    assert result.precision == "float32 (this CPU has no native bf16)"
    assert seen_dtypes == {torch.float32}
    forced = choose_precision(torch.device("cpu"), "bfloat16")
    assert forced.autocast is torch.bfloat16 and forced.reason == "asked for"
    with pytest.raises(ValueError, match="unknown precision"):
        choose_precision(torch.device("cpu"), "int8")


@pytest.mark.parametrize("avx512_bf16, amx, expected", [
    (False, False, False),   # an AVX-512 core without bf16 instructions: oneDNN would only emulate
    (True, False, True),     # AVX-512 BF16 (e.g. AMD Zen 4)
    (False, True, True),     # AMX (e.g. Intel Sapphire Rapids)
])
def test_bf16_is_native_only_with_bf16_instructions(monkeypatch, avx512_bf16, amx, expected):
    import platform

    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: True)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    train_module.cpu_computes_bf16.cache_clear()
    try:
        assert train_module.cpu_computes_bf16() is expected
    finally:
        monkeypatch.undo()
        train_module.cpu_computes_bf16.cache_clear()


def test_off_x86_onednn_decides_bf16(monkeypatch):
    import platform

    monkeypatch.setattr(platform, "machine", lambda: "aarch64")   # e.g. an ARM CPU with BF16 (Graviton3)
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: True)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    for onednn in (True, False):
        monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: onednn)
        train_module.cpu_computes_bf16.cache_clear()
        assert train_module.cpu_computes_bf16() is onednn
    monkeypatch.undo()
    train_module.cpu_computes_bf16.cache_clear()


def test_the_command_line_records_the_precision_in_the_checkpoint(data_available, tmp_path, monkeypatch):
    from models import checkpoints

    monkeypatch.setattr(train_module, "cpu_computes_bf16", lambda: False)
    out = tmp_path / "gap.pt"
    train_module._main(["gap-mnist", "--subset", "256", "--epochs", "1", "--batch-size", "128",
                        "--device", "cpu", "--out", str(out)])
    _, metadata = checkpoints.load(out)
    assert metadata["precision"] == "float32 (this CPU has no native bf16)"
    assert not out.with_suffix(".state.pt").exists()   # a finished run leaves no state behind


class StopAfterEpoch:
    """A stop signal that turns on once `epochs` epochs have been reported."""

    def __init__(self, epochs):
        self.epochs, self.finished = epochs, 0

    def __call__(self, progress):
        self.finished += progress.epoch_end

    def is_set(self):
        return self.finished >= self.epochs


def test_a_resumed_run_equals_a_run_that_never_stopped(small_mnist, tmp_path):
    train_set, test_set = small_mnist
    config = _config(epochs=3, report_every=4)
    torch.manual_seed(3)
    whole = train(build("gap-mnist"), train_set, test_set, config)

    state_file = tmp_path / "run.state.pt"
    stopper = StopAfterEpoch(1)
    torch.manual_seed(3)
    first = train(build("gap-mnist"), train_set, test_set, config, stopper, stopper, state_file=state_file)
    assert first.stopped and len(first.history) == 1 and state_file.exists()

    torch.manual_seed(99)   # a fresh process: another initialisation, overwritten by the state
    resumed_model = build("gap-mnist")
    resumed = train(resumed_model, train_set, test_set, config, state_file=state_file, resume=True)
    assert resumed.resumed_from_epoch == 1 and not resumed.stopped
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]
    drop_seconds = lambda rows: [{k: v for k, v in row.items() if k != "seconds"} for row in rows]  # noqa: E731
    assert drop_seconds(resumed.history) == drop_seconds(whole.history)
    assert resumed.step_losses == whole.step_losses


def test_a_run_resumed_on_other_hardware_says_which_epochs_ran_in_which_precision(small_mnist, tmp_path, monkeypatch):
    from models.train import precision_record

    train_set, test_set = small_mnist
    config, state_file = _config(epochs=3, report_every=4), tmp_path / "run.state.pt"
    monkeypatch.setattr(train_module, "cpu_computes_bf16", lambda: True)   # machine A computes bf16
    stopper = StopAfterEpoch(1)
    train(build("gap-mnist"), train_set, test_set, config, stopper, stopper, state_file=state_file)
    monkeypatch.setattr(train_module, "cpu_computes_bf16", lambda: False)  # machine B does not
    resumed = train(build("gap-mnist"), train_set, test_set, config, state_file=state_file, resume=True)
    assert [row["precision"] for row in resumed.history] == ["bfloat16", "float32", "float32"]
    assert precision_record(resumed) == "float32 (this CPU has no native bf16); by epoch: bfloat16 1, float32 2-3"
    whole = train(build("gap-mnist"), train_set, test_set, config)
    assert precision_record(whole) == whole.precision == "float32 (this CPU has no native bf16)"


def test_a_state_file_of_another_run_is_refused(small_mnist, tmp_path):
    state_file = tmp_path / "run.state.pt"
    stopper = StopAfterEpoch(1)
    train(build("gap-mnist"), small_mnist[0], None, _config(epochs=2), stopper, stopper,
          state_file=state_file, identity={"recipe": "gap-mnist"})
    with pytest.raises(StateMismatchError, match=r"config.lr: 0.05 in the file, 0.2 now"):
        train(build("gap-mnist"), small_mnist[0], None, _config(epochs=2, lr=0.2),
              state_file=state_file, resume=True, identity={"recipe": "gap-mnist"})
    with pytest.raises(StateMismatchError, match="recipe"):
        train(build("gap-mnist"), small_mnist[0], None, _config(epochs=2),
              state_file=state_file, resume=True, identity={"recipe": "other"})
    with pytest.raises(StateMismatchError, match="layers differ"):
        train(build("cifar-resnet", depth=8, in_channels=1), small_mnist[0], None, _config(epochs=2),
              state_file=state_file, resume=True, identity={"recipe": "gap-mnist"})
    state_file.write_bytes(b"not a state")
    with pytest.raises(StateMismatchError, match="not a readable training state"):
        train(build("gap-mnist"), small_mnist[0], None, _config(epochs=2), state_file=state_file, resume=True)


def test_a_state_file_from_before_a_new_setting_resumes_at_its_default(small_mnist, tmp_path):
    """A state written before a TrainConfig field existed (simulated: the field removed from the file)
    continues when the run uses that field's default, and is refused, naming it, when it does not."""
    state_file = tmp_path / "run.state.pt"
    stopper = StopAfterEpoch(1)
    train(build("gap-mnist"), small_mnist[0], None, _config(epochs=2), stopper, stopper, state_file=state_file)
    state = torch.load(state_file, weights_only=True)
    del state["identity"]["config"]["label_smoothing"]
    torch.save(state, state_file)
    with pytest.raises(StateMismatchError, match=r"config.label_smoothing: 0.0 in the file, 0.1 now"):
        train(build("gap-mnist"), small_mnist[0], None, _config(epochs=2, label_smoothing=0.1),
              state_file=state_file, resume=True)
    resumed = train(build("gap-mnist"), small_mnist[0], None, _config(epochs=2), state_file=state_file, resume=True)
    assert resumed.resumed_from_epoch == 1 and len(resumed.history) == 2


def test_the_cutout_setting_reaches_every_augmented_batch(small_mnist, monkeypatch):
    sizes = []

    def spy(dataset, images, generator, cutout_size=0):
        sizes.append(cutout_size)
        return augment(dataset, images, generator, cutout_size=cutout_size)

    monkeypatch.setattr(train_module, "augment", spy)
    train(build("gap-mnist"), small_mnist[0], None, _config(cutout=10))
    assert sizes == [10] * (len(small_mnist[0]) // 64)
    sizes.clear()
    train(build("gap-mnist"), small_mnist[0], None, _config(cutout=10, augment=False))
    assert sizes == []


def test_a_stored_config_is_completed_with_the_defaults_of_newer_settings():
    stored = {k: v for k, v in asdict(TrainConfig(epochs=30, lr=0.2)).items() if k != "cutout"}
    assert with_defaults(stored) == asdict(TrainConfig(epochs=30, lr=0.2))
    assert with_defaults({**stored, "cutout": 16})["cutout"] == 16


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_few_steps_on_the_gpu(small_mnist):
    model = build("gap-mnist")
    result = train(model, small_mnist[0], small_mnist[1], _config(device="cuda", epochs=1))
    assert result.device.startswith("cuda") and result.history[0]["test_accuracy"] > 0.2
    assert next(model.parameters()).device.type == "cuda"


def test_a_diverging_run_stops_itself_and_says_so(small_mnist):
    torch.manual_seed(0)
    seen = []
    result = train(build("gap-mnist"), small_mnist[0], small_mnist[1], _config(epochs=3, lr=1e6, report_every=2),
                   seen.append)
    assert result.diverged and not result.stopped
    assert len(seen) < 3 * (len(small_mnist[0]) // 64) // 2    # it did not run on to the end
    assert all(math.isfinite(loss) for _, loss in result.step_losses)


def test_a_cpu_run_names_the_processor_and_its_threads():
    name = train_module.device_name("cpu")
    threads = torch.get_num_threads()
    assert name.startswith("CPU (") and torch.backends.cpu.get_cpu_capability() in name
    assert name.endswith(f", {threads} thread{'s' if threads > 1 else ''})")
    assert "x86_64, " not in name or not train_module.Path("/proc/cpuinfo").exists()   # the model, not the architecture


def test_a_compiled_run_goes_through_torch_compile_and_trains_like_an_eager_one(small_mnist, monkeypatch):
    compiled = []
    real_compile = torch.compile

    def cheap_compile(model, **kwargs):   # no C++ build: the graph is traced, then run by aten ops
        compiled.append(model)
        return real_compile(model, backend="aot_eager")

    runs = {}
    for compile_net in (False, True):
        torch.manual_seed(0)
        model = build("gap-mnist")
        monkeypatch.setattr(torch, "compile", cheap_compile)
        runs[compile_net] = train(model, small_mnist[0], small_mnist[1], _config(epochs=2), compile_net=compile_net)
        monkeypatch.undo()
    assert len(compiled) == 1
    assert [row["compiled"] for row in runs[True].history] == [True, True]
    assert [row["compiled"] for row in runs[False].history] == [False, False]
    eager, traced = ([loss for _, loss in runs[c].step_losses] for c in (False, True))
    assert len(eager) == len(traced) and eager[0] == pytest.approx(traced[0], rel=1e-4)
    assert sum(traced[-5:]) / 5 < 0.7 * sum(traced[:5]) / 5
    assert runs[True].test_accuracy == pytest.approx(runs[False].test_accuracy, abs=0.05)


def test_with_stem_finds_the_recipe_that_differs_only_in_the_stem():
    assert with_stem("resnet20", 7) == "resnet20-k7" and with_stem("resnet20-k11", 3) == "resnet20"
    assert with_stem("resnet20-long", 11) == "resnet20-k11-long" and with_stem("resnet20-k7-long", 3) == "resnet20-long"
    assert with_stem("resnet56-long", 7) is None   # no 7x7 ResNet-56 recipe
    assert with_stem("a net from the lab", 7) is None


def test_a_continuing_recipe_starts_from_the_finished_run_and_records_both(data_available, tmp_path, monkeypatch):
    from dataclasses import replace

    from models import checkpoints
    from models.train import RECIPES

    first = replace(RECIPES["gap-mnist"], config=replace(RECIPES["gap-mnist"].config, epochs=1))
    monkeypatch.setitem(RECIPES, "gap-mnist", first)
    monkeypatch.setitem(RECIPES, "gap-mnist-more",
                        replace(first, continues="gap-mnist", config=replace(first.config, lr=0.01)))
    start, out, common = tmp_path / "start.pt", tmp_path / "more.pt", ["--subset", "256", "--device", "cpu"]
    train_module._main(["gap-mnist", "--out", str(start), *common])
    started, start_meta = checkpoints.load(start)

    weights_at_start = []
    real_train = train_module.train
    monkeypatch.setattr(train_module, "train", lambda model, *args, **kwargs: (
        weights_at_start.append(copy.deepcopy(model.state_dict())), real_train(model, *args, **kwargs))[1])
    train_module._main(["gap-mnist-more", "--start", str(start), "--out", str(out), *common])
    assert all(torch.equal(weights_at_start[0][k], v) for k, v in started.state_dict().items())

    _, meta = checkpoints.load(out)
    assert meta["epochs"] == 2 and [row["epoch"] for row in meta["history"]] == [1, 2]
    assert meta["history"][0] == start_meta["history"][0]
    assert meta["history"][1]["seconds"] > start_meta["train_seconds"] and meta["train_seconds"] > start_meta["train_seconds"]
    assert meta["config"]["lr"] == 0.01 and meta["continues"]["config"]["lr"] == first.config.lr
    assert meta["continues"]["sha256"] == checkpoints.file_digest(start)
    initial, _ = checkpoints.load(out, weights="init")
    start_initial, _ = checkpoints.load(start, weights="init")
    assert all(torch.equal(initial.state_dict()[k], v) for k, v in start_initial.state_dict().items())

    with pytest.raises(SystemExit, match="not a finished 'gap-mnist' run"):   # a continued run is not its start
        train_module._main(["gap-mnist-more", "--start", str(out), "--out", str(tmp_path / "x.pt"), *common])
    with pytest.raises(SystemExit):
        train_module._main(["gap-mnist-more", "--out", str(tmp_path / "x.pt"), *common])


def test_each_second_cycle_trains_the_net_of_the_run_it_continues_at_a_tenth_of_its_rate():
    from models.train import RECIPES

    second_cycles = {name: recipe for name, recipe in RECIPES.items() if recipe.continues}
    assert {"resnet32-long-cycle2", "resnet44-long-cycle2", "resnet56-long-cutout-cycle2"} <= set(second_cycles)
    for name, recipe in second_cycles.items():
        first = RECIPES[recipe.continues]
        assert not first.continues, name
        assert (recipe.arch, recipe.arch_kwargs, recipe.dataset) == (first.arch, first.arch_kwargs, first.dataset), name
        assert recipe.config.lr == pytest.approx(first.config.lr / 10) and recipe.config.epochs == 40, name
        assert recipe.config.cutout == first.config.cutout and recipe.config.label_smoothing == first.config.label_smoothing
