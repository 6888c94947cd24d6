"""The architecture lab's training run as a worker job (models/jobs.py), with no streamlit,
so the page and bench/lab_speed.py run the very same code."""

from __future__ import annotations

from models import build, data, seeded
from models.train import TrainConfig, default_device, run_metadata, train

# The Train button's default epochs, by where the worker trains: on a CPU, 2 epochs of the GAP
# preset (its one-cycle schedule anneals over both) pass 98 % after the first in 3 of 4 seeds and
# end at 99.1-99.2 % in about 40 s; 3 epochs end at 99.3 % but their first, still at a high
# learning rate, passes 98 % in 1 of 4 (bench/lab_speed.py). On a GPU, the course's 15.
DEFAULT_EPOCHS = {"cpu": 2, "cuda": 15}


def default_epochs() -> int:
    return DEFAULT_EPOCHS.get(default_device().type, DEFAULT_EPOCHS["cpu"])


def lab_config(epochs: int, batch_size: int, lr: float, optimizer: str = "sgd") -> TrainConfig:
    """The lab's Train button settings as a training configuration (its weight decay per optimizer)."""
    return TrainConfig(epochs=int(epochs), batch_size=int(batch_size), lr=float(lr), optimizer=optimizer,
                       weight_decay=1e-4 if optimizer == "sgd" else 1e-2)


def load_for_training(dataset: str, report=None, limit: int | None = None) -> tuple[data.ImageSet, data.ImageSet]:
    """The full training and test sets (decoded once per process: the first time takes seconds,
    which `report(phase=...)` says). `limit` keeps the first `limit` training images and a quarter
    as many test images (for tests)."""
    if report is not None:
        report(phase=f"Loading {data.TITLES[dataset]} (the first time takes a few seconds)")
    train_set, test_set = data.load(dataset, train=True), data.load(dataset, train=False)
    if limit:
        train_set = data.ImageSet(train_set.name, train_set.images[:limit], train_set.labels[:limit],
                                  train_set.classes, f"the first {limit:,} images of {train_set.source}")
        test_set = data.ImageSet(test_set.name, test_set.images[: limit // 4], test_set.labels[: limit // 4],
                                 test_set.classes, f"the first {limit // 4:,} images of {test_set.source}")
    return train_set, test_set


def training_job(spec: list[dict], dataset: str, input_shape: tuple[int, ...], config: TrainConfig,
                 limit: int | None = None):
    """A job function that trains the net `spec` describes on `dataset` and returns the trained
    net (on the CPU), its weights before training, the run's history and the checkpoint metadata."""

    def job(ctx):
        train_set, test_set = load_for_training(dataset, ctx.report, limit)
        net = seeded(lambda: build("spec", layers=spec, input_shape=list(input_shape)), config.seed)
        initial = {k: v.clone() for k, v in net.state_dict().items()}
        history, step_losses = [], []
        steps_per_epoch = len(train_set) // config.batch_size

        def progress(p):
            if p.epoch_end:
                history.append({"epoch": p.epoch, "loss": p.loss, "test_accuracy": p.test_accuracy,
                                "seconds": p.seconds})
            else:
                step_losses.append((p.step, p.loss))
            ctx.report(fraction=p.step / p.total_steps, epoch=p.epoch, loss=p.loss, history=list(history),
                       step_losses=list(step_losses), steps_per_epoch=steps_per_epoch, epochs=config.epochs)

        result = train(net, train_set, test_set, config, on_progress=progress, stop=ctx.stop)
        return {"net": net.cpu(), "initial": initial, "result": result, "spec": spec, "dataset": dataset,
                "input_shape": list(input_shape),
                "metadata": run_metadata("", net, train_set, config, result, "architecture lab")}
    return job
