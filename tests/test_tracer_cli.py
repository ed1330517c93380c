"""`mmtrace trace` and `mmtrace info TRACE` run end to end on real checkpoints and files."""

from __future__ import annotations

from pathlib import Path

import torch

from tracer import open_trace
from tracer.cli.main import main

from .conftest import PARITY

CHECKPOINT = str(PARITY / "m3_dense" / "model.pth")
TOY = str(Path(__file__).parent / "upstream_toy")


def test_trace_writes_file(tmp_path, capsys):
    out = tmp_path / "run.mmtrace"
    status = main(["--lang", "en", "trace", "--ids", "1,9,33,70", "--checkpoint", CHECKPOINT, "--sites", "layers.*.attn.*", "--sites", "logits", "-o", str(out)])
    assert status == 0
    assert f"wrote {out}" in capsys.readouterr().out
    trace = open_trace(out)
    assert trace.tokens.ids == ((1, 9, 33, 70),)
    assert trace.sites()[-1] == "logits"
    assert all(".attn." in site for site in trace.sites()[:-1])
    assert trace["layers.0.attn.probs"].shape == (1, 4, 4, 4)


def test_trace_generate_stats_dtype(tmp_path):
    out = tmp_path / "gen.mmtrace"
    assert main(["trace", "--ids", "1 9 33", "--checkpoint", CHECKPOINT, "--generate", "3", "--mode", "full", "--dtype", "bfloat16", "-o", str(out)]) == 0
    trace = open_trace(out)
    assert len(trace.passes) == 4
    assert trace["layers.1.attn.probs", 3].dtype == torch.bfloat16

    stats = tmp_path / "stats.mmtrace"
    assert main(["trace", "--ids", "1,9,33", "--checkpoint", CHECKPOINT, "--mode", "stats", "--grads", "-o", str(stats)]) == 0
    trace = open_trace(stats)
    assert trace.mode == "stats"
    assert trace.step("embed").grad_stats is not None
    assert stats.stat().st_size < out.stat().st_size


def test_compute_dtype_runs_model_in_bf16(tmp_path, capsys):
    full, low = tmp_path / "f32.mmtrace", tmp_path / "bf16.mmtrace"
    common = ["trace", "--ids", "1,9,33,70", "--checkpoint", CHECKPOINT]
    assert main([*common, "-o", str(full)]) == 0
    assert main([*common, "--compute-dtype", "bfloat16", "-o", str(low)]) == 0

    reference, rounded = open_trace(full), open_trace(low)
    assert rounded.step("embed").dtype == "bfloat16"
    assert rounded["logits"].dtype == torch.bfloat16
    assert reference["logits"].dtype == torch.float32
    difference = (reference["logits"] - rounded["logits"].float()).abs().max().item()
    assert 0 < difference < 1  # bf16 rounding changes the logits, a little

    capsys.readouterr()
    assert main(["--lang", "en", "diff", str(full), str(low)]) == 1
    assert "A was computed in float32 and B in bfloat16" in capsys.readouterr().out


def test_trace_upstream(tmp_path, capsys):
    out = tmp_path / "up.mmtrace"
    assert main(["--lang", "en", "trace", "--upstream", TOY, "--checkpoint", CHECKPOINT, "--ids", "1,9,33,70", "-o", str(out)]) == 0
    trace = open_trace(out)
    assert trace.info.source == "upstream"
    assert trace.step("layers.0.attn.probs").derived

    assert main(["--lang", "en", "info", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any("upstream" in line for line in lines)
    assert any("layers.0.attn.probs *" in line for line in lines)


def test_info_describes_trace(tmp_path, capsys):
    out = tmp_path / "run.mmtrace"
    main(["trace", "--ids", "1,9,33", "--checkpoint", CHECKPOINT, "--generate", "2", "-o", str(out)])
    capsys.readouterr()
    assert main(["--lang", "en", "info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "minimind-3" in text
    assert "then 2 generated tokens" in text
    assert "layers.1.attn.probs" in text
    assert main(["--lang", "zh", "info", str(out)]) == 0
    assert "前向" in capsys.readouterr().out


def test_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "run.mmtrace"
    cases = [
        (["--ids", "1,999", "--checkpoint", CHECKPOINT], "token id 999"),
        (["--ids", "1,a", "--checkpoint", CHECKPOINT], "--ids"),
        (["--ids", "1,9", "--checkpoint", CHECKPOINT, "--sites", "layers.*.atn.q"], "layers.*.atn.q"),
        (["--ids", "1,9", "--checkpoint", CHECKPOINT, "--generate", "-2"], "--generate -2"),
        (["--ids", "1,9", "--checkpoint", CHECKPOINT, "--generate", "100000000"], "pass a smaller --generate"),
        (["--ids", "1,9", "--upstream", TOY], "--checkpoint"),
        (["--ids", "1,9", "--upstream", str(tmp_path), "--checkpoint", CHECKPOINT], "model_minimind.py not found"),
        (["--ids", "1,9", "--checkpoint", str(tmp_path / "absent.pth")], "not found"),
        (["--ids", "1,9", "--upstream", TOY, "--checkpoint", CHECKPOINT, "--compute-dtype", "bfloat16"], "--compute-dtype"),
    ]
    for arguments, fragment in cases:
        assert main(["--lang", "en", "trace", *arguments, "-o", str(out)]) == 2, arguments
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert fragment in err, err
    assert list(tmp_path.iterdir()) == []

    assert main(["--lang", "zh", "trace", "--ids", "1,9", "--checkpoint", CHECKPOINT, "--sites", "nothing.here", "-o", str(out)]) == 2
    assert "没有位点匹配" in capsys.readouterr().err


def test_info_rejects_bad_trace(tmp_path, capsys):
    bad = tmp_path / "bad.mmtrace"
    bad.write_bytes(b"\x00" * 64)
    assert main(["--lang", "en", "info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(bad) in err


def test_config_applies_to_embedded_model(tmp_path, capsys):
    # --config without --checkpoint must reach the embedded model (YaRN on vs off).
    config = tmp_path / "yarn.json"
    config.write_text('{"inference_rope_scaling": true, "max_position_embeddings": 32768}', encoding="utf-8")
    assert main(["--lang", "en", "info", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "YaRN on" in out
    assert "32768" in out


def test_generate_rejects_bad_sampling_options(capsys):
    # Checked before the model loads: temperature 0 used to crash in torch.multinomial.
    cases = [
        (["--temperature", "0"], "--temperature 0.0"),
        (["--top-p", "7"], "--top-p 7.0"),
        (["--top-k", "-1"], "--top-k -1"),
        (["--max-new-tokens", "-1"], "--max-new-tokens -1"),
        (["--repetition-penalty", "0"], "--repetition-penalty 0.0"),
    ]
    for arguments, fragment in cases:
        assert main(["--lang", "en", "generate", "--prompt", "Lily", *arguments]) == 2, arguments
        captured = capsys.readouterr()
        assert captured.err.count("\n") == 1, captured.err
        assert fragment in captured.err, captured.err
        assert captured.out == ""


def test_closed_pipe_is_quiet(tmp_path):
    # `mmtrace info run.mmtrace | head -1`: the reader leaves early; no traceback may follow.
    import subprocess
    import sys

    trace = tmp_path / "run.mmtrace"
    assert main(["trace", "--ids", "1,9,33", "--checkpoint", CHECKPOINT, "-o", str(trace)]) == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "tracer.cli.main", "info", str(trace)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parents[1],
    )
    process.stdout.close()  # before the child has written anything
    err = process.stderr.read().decode()
    assert process.wait() == 141, err
    assert "Traceback" not in err, err
