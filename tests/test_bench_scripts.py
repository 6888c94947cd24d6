"""The one-call GPU script (bench/gpu_session.sh) runs only where a GPU is lent, rarely and
with minutes to spare: check here that it parses and names only recipes, options and
benchmarks that exist."""

import re
import shutil
import subprocess

import pytest

from models.train import RECIPES, TrainConfig
from tests.shipped import ROOT

SCRIPT = ROOT / "bench" / "gpu_session.sh"


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_the_gpu_session_script_parses():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_the_gpu_session_script_names_what_exists():
    text = SCRIPT.read_text()
    for bench in re.findall(r"bench/\w+\.py", text):
        assert (ROOT / bench).is_file(), bench
    trainings = re.findall(r'\]="([\w-]+)([^"]*)"', text) + re.findall(r"models\.train (\w[\w-]*)()", text)
    assert len(trainings) >= 9
    options = {f"--{name.replace('_', '-')}" for name in vars(TrainConfig())} | {"--subset", "--out"}
    for recipe, extra in trainings:
        assert recipe in RECIPES, recipe
        for option in re.findall(r"--[\w-]+", extra):
            assert option in options, option
