"""Plain vs residual: gradients at initialisation and reading the shipped runs."""

import copy
import json

import pytest
import torch

from models import checkpoints
from models.residual_study import (
    COURSE_BAR, HE_ET_AL, NETS, Run, accuracy_tie, best_at_each_depth, compare_with_he_et_al, deeper_runs,
    gradient_norms, gradient_norms_at_init, load_runs, shallowest_at_bar,
)
from models.resnet import cifar_resnet


@pytest.fixture(scope="module")
def batch():
    generator = torch.Generator().manual_seed(0)
    return torch.randn(64, 3, 32, 32, generator=generator), torch.randint(0, 10, (64,), generator=generator)


def test_one_norm_per_weight_layer_in_forward_order(batch):
    norms = gradient_norms_at_init(20, True, *batch)
    assert len(norms) == 20                         # 19 convolutions and the linear layer
    assert norms[0][0] == "stem" and norms[-1][0] == "fc"
    assert all(value > 0 for _, value in norms)


def test_plain_and_residual_nets_start_from_the_same_weights():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        plain = cifar_resnet(20, residual=False)
        torch.manual_seed(0)
        residual = cifar_resnet(20, residual=True)
    for (name, a), (_, b) in zip(plain.state_dict().items(), residual.state_dict().items()):
        assert torch.equal(a, b), name


def test_the_net_is_left_as_it_was(batch):
    net = cifar_resnet(20).eval()
    before = copy.deepcopy(net.state_dict())
    gradient_norms(net, *batch)
    assert not net.training
    assert all(p.grad is None for p in net.parameters())
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_skip_connections_keep_the_gradient_even_across_depth(batch):
    def spread(depth, residual):
        convs = [n for name, n in gradient_norms_at_init(depth, residual, *batch) if name != "fc"]
        return max(convs) / min(convs)

    # Measured on this batch: largest / smallest conv gradient is 13 (plain-20), 3,656
    # (plain-56), 3.7 (ResNet-20) and 14 (ResNet-56): the plain net's spread grows about
    # 300-fold from 20 to 56 layers, the residual net's about 4-fold.
    assert spread(56, False) > 50 * spread(56, True)
    assert spread(56, False) > 50 * spread(20, False)
    assert spread(56, True) < 10 * spread(20, True)


def test_reading_the_runs(tmp_path):
    net = cifar_resnet(20)
    history = [{"epoch": 1, "train_loss": 2.0, "train_accuracy": 0.3, "test_accuracy": 0.35},
               {"epoch": 2, "train_loss": 1.5, "train_accuracy": 0.5, "test_accuracy": 0.52}]
    checkpoints.save(tmp_path / "resnet20_cifar10.pt", net, arch="cifar-resnet", arch_kwargs={"depth": 20},
                     init_state_dict=None, metadata={"name": "resnet20", "dataset": "cifar10", "test_accuracy": 0.52, "history": history,
                               "train_images": 10_000, "device": "CPU", "command": "python -m models.train resnet20"})
    (tmp_path / "plain56_cifar10.pt").write_bytes(b"not a checkpoint")
    runs, problems = load_runs({name: tmp_path / f"{name}_cifar10.pt" for name in NETS})
    assert list(runs) == ["resnet20"]
    assert runs["resnet20"].history == history and runs["resnet20"].train_images == 10_000
    assert len(problems) == 3 and any("plain-56" in p for p in problems)



def test_the_shipped_runs_are_all_there():
    runs, problems = load_runs()
    assert problems == [] and set(runs) == set(NETS)
    assert len({json.dumps(run.config, sort_keys=True) for run in runs.values()}) == 1   # one recipe
    assert {run.train_images for run in runs.values()} == {50_000}
    # What the page then says: these runs show each of He et al.'s findings (issue 18's bar)
    comparisons = compare_with_he_et_al(runs)
    assert len(comparisons) == len(HE_ET_AL) and all(c.agrees for c in comparisons), comparisons


def _run(name, loss, accuracy, seconds=(100.0, 160.0), images=50_000):
    history = [{"epoch": e, "train_loss": loss, "train_accuracy": accuracy, "test_accuracy": accuracy,
                "seconds": t} for e, t in enumerate(seconds, start=1)]
    return Run(name, history, accuracy, len(history), images, seconds[-1], "CPU", None, "",
               {"batch_size": 128})


def test_the_runs_against_he_et_al():
    runs = {"plain20": _run("plain20", 0.40, 0.850), "plain56": _run("plain56", 0.50, 0.830),
            "resnet20": _run("resnet20", 0.40, 0.852), "resnet56": _run("resnet56", 0.397, 0.855)}
    comparisons = {(c.net, c.other): c for c in compare_with_he_et_al(runs)}
    assert list(comparisons) == [(net, other) for net, other, _ in HE_ET_AL]
    deeper_plain = comparisons["plain56", "plain20"]
    assert (deeper_plain.by_loss, deeper_plain.by_accuracy, deeper_plain.agrees) == ("worse", "worse", True)
    assert deeper_plain.loss == (0.50, 0.40) and deeper_plain.accuracy == (0.830, 0.850)
    # 0.397 against 0.40 is within 2 % of their mean, and 85.5 % against 85.2 % within two standard
    # errors (0.7 points): about the same, which at 20 layers agrees with He et al. and at 56 does not
    shallow, deep = comparisons["resnet20", "plain20"], comparisons["resnet56", "resnet20"]
    assert (shallow.by_loss, shallow.by_accuracy, shallow.agrees) == ("about the same", "about the same", True)
    assert (deep.by_loss, deep.by_accuracy, deep.agrees) == ("about the same", "about the same", False)
    assert comparisons["resnet56", "plain56"].agrees
    del runs["resnet56"]
    assert [(c.net, c.other) for c in compare_with_he_et_al(runs)] == [("plain56", "plain20"), ("resnet20", "plain20")]


def test_runs_trained_differently_are_not_compared():
    runs = {"plain20": _run("plain20", 0.40, 0.85), "plain56": _run("plain56", 0.50, 0.83, images=10_000),
            "resnet20": _run("resnet20", 0.30, 0.87)}
    runs["resnet20"].config = {"batch_size": 128, "lr": 0.1}
    assert compare_with_he_et_al(runs) == []


def test_a_run_without_test_accuracy_is_compared_by_its_loss_only():
    runs = {"plain20": _run("plain20", 0.40, 0.85), "plain56": _run("plain56", 0.50, 0.83)}
    runs["plain56"].history[-1]["test_accuracy"] = None
    [comparison] = compare_with_he_et_al(runs)
    assert comparison.by_loss == "worse" and comparison.by_accuracy is None and not comparison.agrees


def test_an_accuracy_tie_is_two_standard_errors():
    assert accuracy_tie(0.85) == pytest.approx(0.00714, abs=1e-5)
    assert accuracy_tie(0.5, images=100) == pytest.approx(0.1)


def test_a_runs_pace_is_its_last_epoch():
    run = _run("resnet20", 0.3, 0.87, seconds=(1000.0, 1120.0), images=40_000)   # resumed: 1,000 s came before
    assert run.seconds_per_1000_images == pytest.approx(120.0 / 40)
    assert run.steps == 2 * (40_000 // 128)
    assert _run("resnet20", 0.3, 0.87, seconds=(50.0,), images=10_000).seconds_per_1000_images == pytest.approx(5.0)
    assert _run("resnet20", 0.3, 0.87, seconds=(None, 1120.0)).seconds_per_1000_images is None



def save_resnet(path, accuracy, depth=20, name=None, epochs=2, **kwargs):
    """A CIFAR ResNet checkpoint at `path` with a made-up record (weights untrained)."""
    net = cifar_resnet(depth, **kwargs)
    history = [{"epoch": e, "train_loss": 1.0, "train_accuracy": accuracy, "test_accuracy": accuracy}
               for e in range(1, epochs + 1)]
    checkpoints.save(path, net, arch="cifar-resnet", arch_kwargs={"depth": depth, **kwargs}, init_state_dict=None,
                     metadata={"name": name or f"resnet{depth}", "dataset": "cifar10", "test_accuracy": accuracy,
                               "parameters": sum(p.numel() for p in net.parameters()), "epochs": epochs,
                               "history": history})
    return path


def test_the_deeper_runs_are_the_3x3_residual_nets_of_the_folder(tmp_path):
    save_resnet(tmp_path / "b.pt", 0.905, depth=32)
    save_resnet(tmp_path / "a.pt", 0.917, depth=56, name="resnet56-long", epochs=3)
    save_resnet(tmp_path / "c.pt", 0.8889, depth=20)
    save_resnet(tmp_path / "d.pt", 0.870, depth=20, name="resnet20-short")
    save_resnet(tmp_path / "plain.pt", 0.95, depth=20, residual=False)     # not a residual net
    save_resnet(tmp_path / "stem.pt", 0.95, depth=20, stem_kernel=7)       # another stem
    save_resnet(tmp_path / "a.state.pt", 0.95, depth=20)                   # a run's state, not a net
    (tmp_path / "figure6").mkdir()
    save_resnet(tmp_path / "figure6" / "resnet56.pt", 0.95, depth=56)      # a subfolder's run
    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    runs, problems = deeper_runs(tmp_path)
    assert [(r.title, r.test_accuracy, r.file) for r in runs] == [
        ("ResNet-20", 0.8889, "c.pt"), ("ResNet-20", 0.870, "d.pt"), ("ResNet-32", 0.905, "b.pt"),
        ("ResNet-56", 0.917, "a.pt")]
    assert len(problems) == 1 and "broken.pt" in problems[0]
    deepest = runs[-1]
    assert (deepest.recipe, deepest.epochs, len(deepest.history)) == ("resnet56-long", 3, 3)
    assert deepest.parameters == sum(p.numel() for p in cifar_resnet(56).parameters())
    assert best_at_each_depth(runs) == [runs[0], runs[2], deepest]
    assert shallowest_at_bar(runs) is deepest and COURSE_BAR == 0.91
    assert shallowest_at_bar(runs, bar=0.90) is runs[2]
    assert shallowest_at_bar(runs, bar=0.88) is runs[0]        # the more accurate of the two ResNet-20s
    assert shallowest_at_bar(runs, bar=0.92) is None
    assert deeper_runs(tmp_path / "figure6")[0][0].depth == 56
