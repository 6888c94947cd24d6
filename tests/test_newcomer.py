"""A newcomer's first hour (issue 19): data out of the box, README commands from any clone, the
join address, the skip-or-fail rule for missing datasets."""

import http.server
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from models import data
from ui.navigation import ALL_PAGES
from tests.conftest import full_data_problem, require_full_data


def test_the_shipped_samples_are_balanced_and_match_the_test_sets(data_available):
    for name in ("mnist", "cifar10"):
        sample, full = data.load_sample(name), data.load(name, train=False)
        assert len(sample) == 1000 and torch.bincount(sample.labels).tolist() == [100] * 10
        with np.load(data.SAMPLES_DIR / f"{name}_test_sample.npz") as stored:
            index = torch.from_numpy(stored["test_index"].astype(np.int64))
        assert torch.equal(sample.images, full.images[index]) and torch.equal(sample.labels, full.labels[index])
        assert "sample" in sample.source and "1,000" in sample.source


def test_pages_read_the_sample_where_the_full_test_set_is_absent(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_LAB_DATA", str(tmp_path))
    for name in ("mnist", "cifar10"):
        images = data.test_images(name)
        assert len(images) == 1000 and "ships with the app" in images.source
        assert not data.full_data_present(name)
        with pytest.raises(data.DataNotFoundError):
            data.load(name, train=True)
    assert "python -m models.data --download" in data.missing_data_message("cifar10")
    assert str(tmp_path) in data.missing_data_message("mnist")


@pytest.mark.parametrize("page", [p.url_path for p in ALL_PAGES])
def test_every_page_opens_where_no_full_dataset_is(page, tmp_path, monkeypatch):
    """A clone anywhere, before any download: each page runs on the shipped samples and offers
    each missing dataset once (a page with several runs once had two buttons with one key)."""
    from tests.test_presenter import open_page

    monkeypatch.setenv("CNN_LAB_DATA", str(tmp_path))
    at = open_page(page)
    assert at.title
    if page not in ("worker", "lab", "", "draw_digit"):   # no data drawn before a run, an edit or a drawing
        assert at.get("plotly_chart") or at.get("imgs"), "no chart"
    shown = " ".join(str(e.value) for kind in ("markdown", "caption", "info", "warning", "error") for e in at.get(kind))
    assert "not available" not in shown.lower()
    offers = [b for b in at.button if b.key and b.key.startswith("download_")]
    assert len({b.key for b in offers}) == len(offers)


def test_full_data_present_is_decided_without_decoding(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"):
        (raw / stem).write_bytes(b"")
    assert not data.full_data_present("mnist", tmp_path)
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(b"")   # compressed: not what torchvision reads
    assert not data.full_data_present("mnist", tmp_path)
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"")
    assert data.full_data_present("mnist", tmp_path)
    (tmp_path / "cifar10-jpg" / "train").mkdir(parents=True)
    assert not data.full_data_present("cifar10", tmp_path)
    (tmp_path / "cifar10-jpg" / "test").mkdir()
    assert data.full_data_present("cifar10", tmp_path)


def test_missing_full_data_skips_with_the_reason_and_fails_under_ci(tmp_path):
    assert "mnist and cifar10 data sets are not in" in full_data_problem(tmp_path)
    with pytest.raises(pytest.skip.Exception, match="set CNN_LAB_DATA"):
        require_full_data(tmp_path, ci=False)
    with pytest.raises(pytest.fail.Exception, match="CI=true but"):
        require_full_data(tmp_path, ci=True)


def test_tests_save_runs_in_a_folder_of_their_own():
    import os

    from ui import catalogue

    runs = Path(os.environ["CNN_LAB_RUNS"]).resolve()
    assert catalogue.runs_dir().resolve() == runs and "cnn-lab-test-runs-" in runs.name
    assert runs != (catalogue.ROOT / "runs").resolve()


# --- Downloads ---------------------------------------------------------------------------------


def test_an_offline_download_fails_at_once_with_what_to_do(tmp_path):
    from models.download import DownloadError, download

    started = time.monotonic()
    unreachable = [(["http://127.0.0.1:9/t10k-labels-idx1-ubyte.gz"], "t10k-labels-idx1-ubyte.gz", "0" * 32)]
    with pytest.raises(DownloadError, match="cannot be reached.*python -m models.data --download"):
        download("mnist", tmp_path, files=unreachable)
    assert time.monotonic() - started < 10
    assert not list((tmp_path / "MNIST" / "raw").glob("*.part"))


def test_a_download_reports_progress_checks_the_file_and_unpacks_it(tmp_path):
    import gzip
    import hashlib

    from models.download import DownloadError, download

    served = tmp_path / "served"
    served.mkdir()
    payload = gzip.compress(bytes(range(256)) * 400)
    (served / "t10k-labels-idx1-ubyte.gz").write_bytes(payload)
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(served), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/t10k-labels-idx1-ubyte.gz"
        seen = []
        md5 = hashlib.md5(payload).hexdigest()
        folder = download("mnist", tmp_path / "root", lambda **p: seen.append(p),
                          files=[([url], "t10k-labels-idx1-ubyte.gz", md5)])
        assert (folder / "t10k-labels-idx1-ubyte").read_bytes() == bytes(range(256)) * 400
        fractions = [p["fraction"] for p in seen if "fraction" in p]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0
        with pytest.raises(DownloadError, match="checksum differs"):
            download("mnist", tmp_path / "other", files=[([url], "t10k-labels-idx1-ubyte.gz", "0" * 32)])
    finally:
        server.shutdown()


# --- The join address ----------------------------------------------------------------------------


def test_the_join_address_is_the_lan_address_not_localhost_or_a_bridge():
    from ui.join import choose_address, join_url

    interfaces = {"lo": ["127.0.0.1"], "docker0": ["172.17.0.1"], "eth0": ["10.4.0.23"],
                  "wlan0": ["192.168.1.57", "fe80::1"], "tun0": ["10.8.0.2"]}
    assert choose_address(interfaces) == "192.168.1.57"
    assert choose_address({"lo": ["127.0.0.1"], "eth0": ["10.4.0.23"], "docker0": ["172.17.0.1"]}) == "10.4.0.23"
    assert choose_address({"lo": ["127.0.0.1"], "eth0": ["169.254.3.4"]}) is None
    assert choose_address({"ens5": ["34.120.1.9"], "docker0": ["172.17.0.1"]}) == "34.120.1.9"
    assert join_url(None, "192.168.1.57", 8501) == "http://192.168.1.57:8501"
    assert join_url(None, "192.168.1.57", 8501, "/lab-app/") == "http://192.168.1.57:8501/lab-app"
    assert join_url("https://cnn.school.example/", "192.168.1.57", 8501) == "https://cnn.school.example"


def test_the_setting_overrides_the_join_address(monkeypatch):
    from ui import join

    monkeypatch.setenv("CNN_LAB_JOIN_URL", "http://cnn-lab.local:9000")
    assert join.class_url() == "http://cnn-lab.local:9000"
    assert join.page_url("lab") == "http://cnn-lab.local:9000/lab"


def test_the_qr_code_decodes_to_the_join_address():
    import io

    import zxingcpp
    from PIL import Image

    from ui.join import qr_png

    url = "http://192.168.1.57:8501"
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(url))))
    assert found.text == url


def test_ci_runs_exactly_the_readmes_test_command():
    root = Path(__file__).resolve().parents[1]
    command = "pip install -r requirements-dev.txt && python -m pytest"
    assert f"\n{command}\n" in (root / "README.md").read_text()
    assert (root / ".ci" / "run").read_text().rstrip().splitlines()[-1] == command
    assert "\npip install -r requirements.txt && streamlit run app.py\n" in (root / "README.md").read_text()
