import copy
import pickle

import pytest
import torch

from models import build, checkpoints
from models.checkpoints import CheckpointError


def _save_gap(path, model=None):
    torch.manual_seed(0)
    model = model or build("gap-mnist")
    init = copy.deepcopy(model.state_dict())
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    meta = {"dataset": "mnist", "test_accuracy": 0.5, "mean": (0.1307,), "std": (0.3081,),
            "torch_version": torch.__version__}
    checkpoints.save(path, model, arch="gap-mnist", arch_kwargs={}, init_state_dict=init, metadata=meta)
    return model, init


def test_round_trip(tmp_path):
    path = tmp_path / "net.pt"
    model, init = _save_gap(path)
    loaded, meta = checkpoints.load(path)
    assert not loaded.training
    assert meta["mean"] == [0.1307] and meta["test_accuracy"] == 0.5
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    before, _ = checkpoints.load(path, weights="init")
    for key, value in init.items():
        assert torch.equal(before.state_dict()[key], value)
    x = torch.randn(2, 1, 28, 28)
    torch.testing.assert_close(loaded(x), model.eval()(x))


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "net.pt"
    _save_gap(path)
    good = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        _save_gap(path)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "net.pt"]   # no temp file left


def test_truncated_file_is_named(tmp_path):
    path = tmp_path / "net.pt"
    _save_gap(path)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        checkpoints.load(path)


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"conv.weight": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="not a CNN Lab checkpoint"):
        checkpoints.load(path)
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoints.load(tmp_path / "missing.pt")


def test_mismatched_checkpoint_names_the_layer(tmp_path):
    path = tmp_path / "net.pt"
    _save_gap(path, build("gap-mnist", widths=(16, 16, 8, 16)))
    payload = torch.load(path, weights_only=True)
    payload["arch_kwargs"] = {}   # claims the default widths
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=r"conv1.0.weight has shape \(16, 1, 3, 3\) in the file but \(8, 1, 3, 3\)"):
        checkpoints.load(path)


def test_missing_and_non_finite_weights(tmp_path):
    path = tmp_path / "net.pt"
    _save_gap(path)
    payload = torch.load(path, weights_only=True)
    del payload["state_dict"]["classifier.bias"]
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="missing classifier.bias"):
        checkpoints.load(path)
    _save_gap(path)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["conv1.0.weight"][0, 0, 0, 0] = float("nan")
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="NaN"):
        checkpoints.load(path)


class _RunsCode:
    def __reduce__(self):
        return (print, ("this would have run",))


def test_pickle_that_runs_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"format": checkpoints.FORMAT, "payload": _RunsCode()}, f)
    with pytest.raises(CheckpointError, match="refused"):
        checkpoints.load(path)
    assert "this would have run" not in capsys.readouterr().out


def test_save_writes_a_card_tied_to_the_file(tmp_path):
    import json

    path = tmp_path / "net.pt"
    _save_gap(path)
    card = json.loads(checkpoints.card_path(path).read_text())
    assert card["dataset"] == "mnist" and card["test_accuracy"] == 0.5
    assert card["sha256"] == checkpoints.file_digest(path)


def test_shipped_cards_describe_their_checkpoints():
    import json

    from tests.shipped import CHECKPOINTS

    for path in CHECKPOINTS.glob("**/*.pt"):
        if path.name.endswith(".state.pt"):
            continue   # a long run's resumable state (models.train), not a checkpoint
        card = json.loads(checkpoints.card_path(path).read_text())
        assert card["sha256"] == checkpoints.file_digest(path), path.name
        assert card["test_accuracy"] == checkpoints.read(path)["metadata"]["test_accuracy"]
