"""The Python examples run: erase_tiny.py and the notebook's code cells."""

import json
import os
import subprocess
import sys

from conftest import REPO

EXAMPLES = os.path.join(REPO, "examples", "python")


def test_erase_tiny_script(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "bindings", "python"))
    r = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, "erase_tiny.py"), REPO, str(tmp_path / "adapter")],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr
    steps = [l for l in r.stdout.splitlines() if l.startswith("step ")]
    assert len(steps) == 3, r.stdout
    assert (tmp_path / "adapter" / "adapter_model.safetensors").exists()


def test_notebook_runs_headless(monkeypatch):
    with open(os.path.join(EXAMPLES, "erase_and_evaluate.ipynb")) as f:
        nb = json.load(f)
    assert nb["nbformat"] == 4
    monkeypatch.chdir(EXAMPLES)
    g = {"__name__": "__notebook__"}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), "erase_and_evaluate.ipynb", "exec"), g)
    assert len(g["history"]) == g["STEPS"]
