"""diff_traces and `mmtrace diff`: per-site differences and the first divergence."""

from __future__ import annotations

import math

import pytest
import torch

from minimind import load_checkpoint
from tracer import diff_traces, save_trace, trace_prompt
from tracer.cli.main import main
from tracer.diff import compare_values

from .conftest import PARITY

PROMPT = [1, 9, 33, 70, 12]


def _model(variant="m3_dense"):
    return load_checkpoint(PARITY / variant / "model.pth")


def test_same_model_same_trace():
    a = trace_prompt(_model(), None, PROMPT)
    b = trace_prompt(_model(), None, PROMPT)
    result = diff_traces(a, b)
    assert not result.diverged
    assert result.same_weights
    assert result.same_tokens
    assert all(d.max_abs == 0.0 for d in result.sites)
    assert len(result.sites) == len(a.steps)


def test_first_divergence_is_the_edited_layer():
    a = trace_prompt(_model(), None, PROMPT)
    edited = _model()
    with torch.no_grad():
        edited.model.layers[1].mlp.down_proj.weight.mul_(1.5)
    b = trace_prompt(edited, None, PROMPT)
    result = diff_traces(a, b)
    assert not result.same_weights
    first = result.first_divergence
    assert first.site == "layers.1.ffn.out"
    assert first.compared == "tensor"
    assert first.max_rel == pytest.approx(1 / 3, rel=1e-3)  # |x - 1.5x| / max(|x|, |1.5x|)
    before = [d for d in result.sites if d.index < first.index]
    assert before
    assert all(d.max_abs == 0.0 for d in before)
    assert not result.sites[-1].within_tolerance  # the change reaches the logits


def test_tolerance_decides():
    a = trace_prompt(_model(), None, PROMPT)
    edited = _model()
    with torch.no_grad():
        edited.lm_head.weight.add_(1e-7)  # tied: changes the embedding too
    b = trace_prompt(edited, None, PROMPT)
    assert not diff_traces(a, b, atol=1e-4, rtol=1e-3).diverged
    assert diff_traces(a, b, atol=0, rtol=0).first_divergence.site == "embed"


def test_stats_only_traces_compare_statistics():
    a = trace_prompt(_model(), None, PROMPT, mode="stats")
    b = trace_prompt(_model(), None, PROMPT, mode="full")
    result = diff_traces(a, b)
    assert {d.compared for d in result.sites} == {"stats"}
    assert not result.diverged
    edited = _model()
    with torch.no_grad():
        edited.model.norm.weight.mul_(2)
    result = diff_traces(a, trace_prompt(edited, None, PROMPT, mode="stats"))
    assert result.first_divergence.site == "final_norm.out"


def test_shape_mismatch_and_missing_sites():
    a = trace_prompt(_model(), None, PROMPT)
    b = trace_prompt(_model(), None, PROMPT[:3], sites="layers.0.attn")
    result = diff_traces(a, b)
    assert not result.same_tokens
    assert result.first_divergence.compared == "shape"
    assert result.first_divergence.site == "layers.0.attn.q"
    assert "embed@0" in result.only_in_a
    assert result.only_in_b == []


def test_compare_values_edge_cases():
    nan, inf = float("nan"), float("inf")
    x = torch.tensor([0.0, nan, inf, 1.0], dtype=torch.float64)
    assert compare_values(x, x.clone(), 0, 0) == (0.0, 0.0, True)
    y = torch.tensor([0.0, 1.0, inf, 1.0], dtype=torch.float64)
    max_abs, _, ok = compare_values(x, y, 1e-3, 1e-3)
    assert math.isinf(max_abs)
    assert not ok
    max_abs, max_rel, ok = compare_values(torch.tensor([2.0]), torch.tensor([1.0]), 0.5, 0.5)
    assert (max_abs, max_rel, ok) == (1.0, 0.5, True)


def test_cli_diff(tmp_path, capsys):
    save_trace(trace_prompt(_model(), None, PROMPT), tmp_path / "a.mmtrace")
    save_trace(trace_prompt(_model(), None, PROMPT), tmp_path / "same.mmtrace")
    edited = _model()
    with torch.no_grad():
        edited.model.layers[1].self_attn.v_proj.weight.mul_(-1)
    save_trace(trace_prompt(edited, None, PROMPT), tmp_path / "b.mmtrace")

    assert main(["--lang", "en", "diff", str(tmp_path / "a.mmtrace"), str(tmp_path / "same.mmtrace")]) == 0
    assert "no divergence" in capsys.readouterr().out

    assert main(["--lang", "en", "diff", str(tmp_path / "a.mmtrace"), str(tmp_path / "b.mmtrace")]) == 1
    out = capsys.readouterr().out
    assert "first divergence: layers.1.attn.v" in out
    assert "different weights" in out
    lines = out.splitlines()
    assert any(line.split()[1:2] == ["layers.0.attn.q"] for line in lines)

    assert main(["--lang", "en", "diff", str(tmp_path / "a.mmtrace"), str(tmp_path / "b.mmtrace"), "--only-diverging"]) == 1
    out = capsys.readouterr().out
    assert "layers.0.attn.q " not in out

    assert main(["--lang", "en", "diff", str(tmp_path / "a.mmtrace"), str(tmp_path / "missing.mmtrace")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "not found" in err

    assert main(["--lang", "en", "diff", str(tmp_path / "a.mmtrace"), str(tmp_path / "b.mmtrace"), "--atol", "-1"]) == 2
    assert "--atol" in capsys.readouterr().err
