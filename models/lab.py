"""The architecture lab's training run as a worker job (models/jobs.py), with no streamlit,
so the page and bench/lab_speed.py run the very same code."""

from __future__ import annotations

import torch

from models import build, data
from models.train import TrainConfig, train


def lab_config(epochs: int, batch_size: int, lr: float, optimizer: str = "sgd") -> TrainConfig:
    """The lab's Train button settings as a training configuration (its weight decay per optimizer)."""
    return TrainConfig(epochs=int(epochs), batch_size=int(batch_size), lr=float(lr), optimizer=optimizer,
                       weight_decay=1e-4 if optimizer == "sgd" else 1e-2)


def training_job(spec: list[dict], dataset: str, input_shape: tuple[int, ...], config: TrainConfig,
                 limit: int | None = None):
    """A job function that trains the net `spec` describes on `dataset` and returns the trained
    net (on the CPU), its weights before training, the run's history and what a checkpoint needs.
    `limit` trains on the first `limit` images and tests on a quarter as many (for tests).
    Loads the data at once, so a missing dataset is an error for the caller, not the worker."""
    train_set, test_set = data.load(dataset, train=True), data.load(dataset, train=False)
    if limit:
        train_set = data.ImageSet(train_set.name, train_set.images[:limit], train_set.labels[:limit], train_set.classes)
        test_set = data.ImageSet(test_set.name, test_set.images[: limit // 4], test_set.labels[: limit // 4],
                                 test_set.classes)

    def job(ctx):
        torch.manual_seed(config.seed)
        net = build("spec", layers=spec, input_shape=list(input_shape))
        initial = {k: v.clone() for k, v in net.state_dict().items()}
        history, step_losses = [], []

        def progress(p):
            if p.epoch_end:
                history.append({"epoch": p.epoch, "loss": p.loss, "test_accuracy": p.test_accuracy,
                                "seconds": p.seconds})
            else:
                step_losses.append((p.step, p.loss))
            ctx.report(fraction=p.step / p.total_steps, epoch=p.epoch, loss=p.loss, history=list(history),
                       step_losses=list(step_losses), steps_per_epoch=p.total_steps / config.epochs)

        result = train(net, train_set, test_set, config, on_progress=progress, stop=ctx.stop_event)
        return {"net": net.cpu(), "initial": initial, "result": result, "spec": spec, "dataset": dataset,
                "input_shape": list(input_shape), "classes": list(train_set.classes),
                "mean": list(train_set.mean), "std": list(train_set.std), "config": config}
    return job
