"""The models that ship with the package, usable by name wherever a model is taken.

``audiornn/models/`` holds each shipped model's ``.keras`` file and
``models.json``, its card: what it was trained on and how long, the credit
its training audio asks for, and its bits per sample on all of its
validation audio beside the baselines (made by ``bench/shipped_models.py``);
a vocoder's card also has its copy-synthesis scores beside Griffin-Lim's, and a
generating model's its training audio's levels and its streams' health
(``bench/health.py``, :mod:`audiornn.health`).
A path that exists always wins over a name.
"""

import json
import os
from pathlib import Path

from .config import command
from .errors import ModelFileError

__all__ = ["MODELS_FOLDER", "format_models_table", "resolve_model", "shipped_models"]

MODELS_FOLDER = Path(__file__).resolve().parent / "models"
CARDS = MODELS_FOLDER / "models.json"


def shipped_models():
    """``{name: card}`` of the shipped models, each card with its ``path``; empty when none ship."""
    try:
        cards = json.loads(CARDS.read_text())
    except (OSError, ValueError):
        return {}
    return {name: dict(card, path=str(MODELS_FOLDER / card["file"])) for name, card in cards.items()
            if (MODELS_FOLDER / card["file"]).is_file()}


def resolve_model(model):
    """A model argument as a path: an existing path as it is, a shipped model's name as its file.

    Anything else is a :class:`ModelFileError` that lists the names.
    """
    if not isinstance(model, (str, os.PathLike)):
        raise ModelFileError(f"a model is a .keras file, a run folder or a shipped model's name ("
                             f"{', '.join(shipped_models()) or 'none are installed'}); got {type(model).__name__}")
    path = Path(model).expanduser()
    if path.exists():
        return path
    models = shipped_models()
    if str(model) in models:
        return Path(models[str(model)]["path"])
    names = ", ".join(models) or "none are installed"
    raise ModelFileError(f"model '{model}' does not exist: give a .keras file, a run folder, or the name of a "
                         f"shipped model ({names}; '{command()} models' lists them)")


def format_models_table(models=None):
    """The shipped models as a small text table, with their scores and credits."""
    models = shipped_models() if models is None else models
    if not models:
        return "no shipped models are installed"
    lines = [f"{'name':<12}{'bits/sample':>12}{'linear pred.':>14}{'trained':>10}{'size':>9}  what"]
    for name, card in models.items():
        baseline = (card.get("baselines") or {}).get("linear_predictor_16")
        lines.append(f"{name:<12}{card['validation_bits_per_sample']:>12.3f}"
                     f"{'' if baseline is None else f'{baseline:.3f}':>14}{card['training_minutes']:>7.0f} min"
                     f"{card['bytes'] / 1e6:>7.1f} MB  {card['description']}")
    lines.append("(bits per sample on all of each model's validation audio, lower is better; the linear predictor "
                 "needs no network)")
    for name, card in models.items():
        for held, scores in (card.get("copy_synthesis") or {}).items():
            pitch = "" if scores.get("vocoder_f0_cents") is None else (
                f", F0 error {scores['vocoder_f0_cents']:.0f} cents (Griffin-Lim {scores['griffin_lim_f0_cents']:.0f}),"
                f" buzz {scores['vocoder_buzz']:.0%} (Griffin-Lim {scores['griffin_lim_buzz']:.0%})")
            momentum = f" with momentum {scores['momentum']:g}" if scores.get("momentum") else ""
            network = "" if scores.get("network_pesq") is None else (
                f"; as vocode makes it, refined in {scores['refine']} passes{momentum} (the network's audio alone: "
                f"PESQ {scores['network_pesq']:.2f}, STOI {scores['network_stoi']:.3f})")
            lines.append(f"{name}: copy-synthesis of {scores['files']} {held} files: PESQ {scores['vocoder_pesq']:.2f} "
                         f"(Griffin-Lim {scores['griffin_lim_pesq']:.2f}), STOI {scores['vocoder_stoi']:.3f} "
                         f"(Griffin-Lim {scores['griffin_lim_stoi']:.3f}){pitch}{network}")
    from .health import share_text

    for name, card in models.items():
        if "health" in card:  # bench/health.py: its streams against its training audio (audiornn.health)
            figures = card["health"]
            frozen = f", {figures['frozen']} frozen" if "frozen" in figures else ""  # cards made before it say none
            lines.append(f"{name}: {figures['streams']} streams x {figures['seconds']:g} s at temperature "
                         f"{figures['temperature']:g}: {figures['collapsed']} collapsed, {figures['ran_away']} ran "
                         f"away{frozen}, {share_text(figures['in_range'])} of 2 s windows at the training level, held partials "
                         f"{figures['held_partials']:.0%} (training audio {figures['training_held_partials']:.0%})")
    for name, card in models.items():
        if "chosen" in card:  # an epoch chosen by training-time health checks, not by bits
            lines.append(f"{name}: chosen as {card['chosen']}")
    for name, card in models.items():
        if "trained_on" in card:  # where it was not the developers' 2 CPU cores
            steps = card.get("optimizer_steps")
            lines.append(f"{name}: trained on {card['trained_on']}"
                         + ("" if steps is None else f", {steps:,} optimizer steps"))
        lines.append(f"{name}: {card.get('data', '')}; {card.get('credit', '')}")
    return "\n".join(lines)
