"""The first ten minutes of a new user: the demo and the notebook."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPOSITORY = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quickstart_notebook_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebook's working folder goes where pytest cleans up
    notebook = nbformat.read(REPOSITORY / "examples" / "quickstart.ipynb", as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    mimes = {mime for output in outputs for mime in output.get("data", {})}
    assert {"image/png", "text/html"} <= mimes  # figures (without %matplotlib inline) and the inline audio player
    text = "".join(output.get("text", "") for output in outputs)
    # the library's info lines reach the notebook (Python shows none without a handler, and a kernel has none)
    said = "".join(output.get("text", "") for output in outputs if output.get("name") == "stderr")
    assert "stopped: 3 epochs done. Best model (epoch 3)" in said
    assert "bits per sample on the validation audio" in text and "linear predictor 16" in text
    assert f"working in {tmp_path}" in text


@pytest.mark.slow
def test_demo_runs_twice_and_reports_where_everything_is(tmp_path):
    command = [sys.executable, str(REPOSITORY / "AudioRNN.py"), "demo", "--minutes", "0.15", "--seconds", "1",
               "--output", str(tmp_path / "demo"), "--quiet"]
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    for _ in range(2):
        result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path, env=environment)
        assert result.returncode == 0, result.stderr[-3000:]
    for name in ("generated.wav", "curves.png", "sound.png", "score.json", "run/model.keras", "dataset/metadata.json"):
        assert (tmp_path / "demo" / name).is_file(), name
        assert str(tmp_path / "demo" / name.split("/")[0]) in result.stdout or name.startswith(("run/", "dataset/"))
    score = json.loads((tmp_path / "demo" / "score.json").read_text())
    assert set(score["baselines"]) == {"uniform", "unigram", "linear_predictor_16"}
    assert "bits/sample" in result.stdout and "unigram" in result.stdout
    assert "sound distance to the training audio" in result.stdout and "(ceiling)" in result.stdout
    assert score["sound"]["floor"]["frechet"] < score["sound"]["ceiling"]["frechet"]
