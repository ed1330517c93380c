"""`mmtrace step` driven by command files and standard input, on traces of the parity checkpoints."""

from __future__ import annotations

import io
import math
import re

import pytest
import torch

from minimind import load_checkpoint
from tracer import Tracer
from tracer.cli.main import main
from tracer.debugger.live import pause_at
from tracer.debugger.step_shell import StepShell
from tracer.generation import trace_generation
from tracer.stats import tensor_stats
from tracer.tracefile import open_trace, save_trace

from .conftest import PARITY

IDS = [[1, 9, 33, 70, 5, 120]]
STATS_LINE = re.compile(r"mean (\S+)  std (\S+)  rms (\S+)  min (\S+)  max (\S+)")
LOCATION = re.compile(r"▶ step (\d+)/\d+  (.+?)  \[(\w+)\]")


def _record(variant: str, **options):
    model = load_checkpoint(PARITY / variant / "model.pth")
    with Tracer(model, **options) as tracer, torch.no_grad():
        model(torch.tensor(IDS))
    return tracer.trace


@pytest.fixture(scope="module")
def trace_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("step") / "run.mmtrace"
    save_trace(_record("m3_dense"), path)
    return path


@pytest.fixture(scope="module")
def trace(trace_file):
    return open_trace(trace_file)


def _session(capsys, path, commands: list[str], tmp_path, lang="en"):
    script = tmp_path / "commands.txt"
    script.write_text("\n".join(commands) + "\n", encoding="utf-8")
    status = main(["--lang", lang, "step", str(path), "--commands", str(script)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _stats_after(output: str, command: str) -> tuple[float, ...]:
    """Return the first statistics line printed after the echoed `command`."""
    tail = output.split(f"(mmtrace) {command}\n", 1)[1]
    return tuple(float(value) for value in STATS_LINE.search(tail).groups())


def _locations(output: str) -> list[tuple[int, str, str]]:
    return [(int(index), path, level) for index, path, level in LOCATION.findall(output)]


def test_step_print_matches_recorded_stats(trace_file, trace, capsys, tmp_path):
    status, out, err = _session(capsys, trace_file, ["goto layers.1.attn.scores", "print", "print layers.0.ffn.out"], tmp_path)
    assert status == 0
    assert err == ""
    for command, site in (("print", "layers.1.attn.scores"), ("print layers.0.ffn.out", "layers.0.ffn.out")):
        recorded = trace.stats(site)
        printed = _stats_after(out, command)
        expected = (recorded.mean, recorded.std, recorded.rms, recorded.min, recorded.max)
        for value, reference in zip(printed, expected):
            assert math.isclose(value, reference, rel_tol=1e-5, abs_tol=1e-9)
    assert "layers.1.attn.scores  (1, 4, 6, 6)  batch × head × query × key  float32" in out


def test_step_print_slice(trace_file, trace, capsys, tmp_path):
    _, out, err = _session(capsys, trace_file, ["print layers.0.attn.probs[0, 3]", "print logits[0, -1, :4]"], tmp_path)
    assert err == ""
    assert "layers.0.attn.probs[0, 3]  (6, 6)  query × key  float32" in out
    part = trace["layers.0.attn.probs"][0, 3]
    expected = tensor_stats(part)
    printed = _stats_after(out, "print layers.0.attn.probs[0, 3]")
    assert math.isclose(printed[2], expected.rms, rel_tol=1e-5)
    assert printed[4] == pytest.approx(expected.max, rel=1e-5)
    # Query 0 attends only to key 0, so its row is [1, 0, 0, 0, 0, 0].
    assert "[[1.     0.     0.     0.     0.     0.    ]" in out

    logits = trace["logits"][0, -1, :4]
    assert "logits[0, -1, :4]  (4)  vocab  float32" in out
    assert f"{logits[0].item():.4f}"[:6] in out


def test_step_navigation_levels(trace_file, trace, capsys, tmp_path):
    commands = ["next", "next", "step", "next 2", "step", "next", "finish", "up", "prev", "step 2", "prev"]
    _, out, err = _session(capsys, trace_file, commands, tmp_path)
    assert err == ""
    index = {site: trace.step(site).index for site in trace.sites()}
    expected = [
        (0, "embed", "unit"),
        (index["layers.0.resid_pre"], "layers.0", "unit"),
        (index["layers.1.resid_pre"], "layers.1", "unit"),
        (index["layers.1.resid_pre"], "layers.1 > resid_pre", "sublayer"),
        (index["layers.1.attn.q"], "layers.1 > attn", "sublayer"),
        (index["layers.1.attn.q"], "layers.1 > attn > q", "op"),
        (index["layers.1.attn.k"], "layers.1 > attn > k", "op"),
        (index["layers.1.resid_mid"], "layers.1 > resid_mid", "sublayer"),
        (index["layers.1.resid_pre"], "layers.1", "unit"),
        (index["layers.0.resid_pre"], "layers.0", "unit"),
        # `step 2` from a unit enters its first sublayer, then that sublayer's only op.
        (index["layers.0.resid_pre"], "layers.0 > resid_pre", "op"),
        # `prev` at the op level moves one step back, out of the block.
        (0, "embed", "op"),
    ]
    assert _locations(out) == expected


def test_step_next_at_sublayer_level_crosses_layers(trace_file, trace, capsys, tmp_path):
    _, out, _ = _session(capsys, trace_file, ["next", "step", "next 7", "next 100"], tmp_path)
    found = _locations(out)
    assert found[3][:2] == (trace.step("layers.1.resid_pre").index, "layers.1 > resid_pre")
    assert found[4][:2] == (trace.step("logits").index, "logits")
    assert "end of the trace" in out


def test_step_breakpoint_condition_stops_at_right_step(trace_file, trace, capsys, tmp_path):
    maxima = [trace.stats(f"layers.{i}.attn.scores").max for i in range(2)]
    high, low = max(maxima), min(maxima)
    threshold = (high + low) / 2
    expected = trace.step(f"layers.{maxima.index(high)}.attn.scores").index
    commands = [f"break layers.*.attn.scores if max > {threshold:.6f}", "continue", "continue", "reverse-continue", "info breakpoints"]
    _, out, err = _session(capsys, trace_file, commands, tmp_path)
    assert err == ""
    assert "(2 steps match)" in out
    found = _locations(out)
    assert found[1][0] == expected
    assert found[1][2] == "op"
    assert found[2][0] == len(trace.steps) - 1  # no other layer passes: the run ends at the last step
    assert "end of the trace" in out
    assert found[3][0] == expected
    assert re.search(r"1  layers\.\*\.attn\.scores  max > [\d.]+ +2", out)


def test_step_next_stops_at_breakpoint_it_passes(trace_file, trace, capsys, tmp_path):
    _, out, _ = _session(capsys, trace_file, ["break layers.0.attn.probs", "next", "next"], tmp_path)
    found = _locations(out)
    assert found[1][0] == trace.step("layers.0.resid_pre").index
    assert found[2][:3] == (trace.step("layers.0.attn.probs").index, "layers.0 > attn > probs", "op")
    assert "breakpoint 1: layers.0.attn.probs" in out


def test_step_break_on_nan_finds_first_nan(tmp_path, capsys):
    model = load_checkpoint(PARITY / "m3_dense" / "model.pth")

    def inject(pause):
        pause.set("[0, 2, 1, 0]", float("nan"))

    # The debugger's hook runs before the tracer's, so the trace records the edited tensor.
    with pause_at(model, "layers.1.attn.q", inject), Tracer(model) as tracer, torch.no_grad():
        model(torch.tensor(IDS))
    path = tmp_path / "nan.mmtrace"
    save_trace(tracer.trace, path)

    _, out, err = _session(capsys, path, ["break * if nan", "continue", "print [0, 2, 1, :3]"], tmp_path)
    assert err == ""
    found = _locations(out)
    assert found[1][:2] == (tracer.trace.step("layers.1.attn.q").index, "layers.1 > attn > q")
    assert "nan 1  inf 0" in out
    assert "[   nan" in out


def test_step_errors_keep_session_alive(trace_file, trace, capsys, tmp_path):
    commands = ["bogus", "print nosuch.site", "print layers.0.attn.probs[0, 99]", "break x if max >", "next 0", "goto 9999", "continue", "next"]
    status, out, err = _session(capsys, trace_file, commands, tmp_path)
    assert status == 1  # a script with failing commands ends with status 1
    errors = err.strip().splitlines()
    assert len(errors) == 7
    assert all(line.startswith("error: ") for line in errors)
    assert "unknown command 'bogus'" in errors[0]
    assert "site 'nosuch.site' is not in this trace" in errors[1]
    assert "of size 4" in errors[2]
    assert "no breakpoints are set" in errors[6]
    assert "Traceback" not in out + err
    assert _locations(out)[-1][:2] == (trace.step("layers.0.resid_pre").index, "layers.0")


def test_step_errors_in_chinese(trace_file, capsys, tmp_path):
    _, out, err = _session(capsys, trace_file, ["bogus", "next x"], tmp_path, lang="zh")
    assert "错误：未知命令 'bogus'" in err
    assert "次数 'x' 无效" in err
    assert "第 0/" in out


def test_step_watch_follows_position(trace_file, trace, capsys, tmp_path):
    _, out, _ = _session(capsys, trace_file, ["watch layers.*.resid_post rms", "goto logits", "watch logits.max"], tmp_path)
    assert "watch 1: layers.*.resid_post rms: not computed yet at this step" in out
    last_rms = trace.stats("layers.1.resid_post").rms
    assert f"watch 1: layers.*.resid_post rms = {last_rms:.6g}   (layers.1.resid_post, step {trace.step('layers.1.resid_post').index})" in out
    assert f"watch 2: logits max = {trace.stats('logits').max:.6g}" in out


def test_step_rms_chart_values(trace_file, trace, capsys, tmp_path):
    _, out, _ = _session(capsys, trace_file, ["rms layers.0.resid_post", "tokens"], tmp_path)
    expected = trace["layers.0.resid_post"][0].float().pow(2).mean(-1).sqrt()
    lines = out.split("(mmtrace) rms layers.0.resid_post\n", 1)[1].splitlines()
    assert lines[0] == "layers.0.resid_post: RMS per token over hidden"
    for position, line in enumerate(lines[1:7]):
        assert line.startswith(f"{position} {IDS[0][position]}")
        assert float(line.split()[-1]) == pytest.approx(expected[position].item(), rel=1e-3)
    longest = max(range(6), key=lambda p: expected[p].item())
    assert lines[1 + longest].count("█") == max(line.count("█") for line in lines[1:7])


def test_step_heatmap_rows_and_mask(trace_file, trace, capsys, tmp_path):
    _, out, _ = _session(capsys, trace_file, ["heatmap 1 2"], tmp_path)
    lines = out.split("(mmtrace) heatmap 1 2\n", 1)[1].splitlines()
    assert lines[0].startswith("layers.1.attn.probs  head 2  batch 0")
    rows = [line for line in lines if re.match(r"^\d \S+ +\S", line)]
    assert len(rows) == 6
    # Query t cannot see keys after t: row t ends with 5 - t masked cells.
    for t, row in enumerate(rows):
        assert row.endswith(" ·" * (5 - t)) if t < 5 else not row.endswith("·")


def test_step_heatmap_rejects_non_attention_site(trace_file, capsys, tmp_path):
    _, _, err = _session(capsys, trace_file, ["heatmap layers.0.resid_post"], tmp_path)
    assert "layers.0.resid_post is not an attention pattern" in err


def test_step_reads_piped_stdin(trace_file, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("# a comment\nnext\n\nquit\nnext\n"))
    status = main(["--lang", "en", "step", str(trace_file)])
    out = capsys.readouterr().out
    assert status == 0
    assert "(mmtrace) next\n" in out
    assert out.count("(mmtrace) next") == 1  # nothing runs after quit
    assert "(mmtrace) # a comment" not in out


@pytest.mark.parametrize("content", [None, b"not a trace at all", b"\x10\x00\x00\x00\x00\x00\x00\x00{}"])
def test_step_bad_trace_file_one_line_exit_2(tmp_path, capsys, content):
    path = tmp_path / "bad.mmtrace"
    if content is not None:
        path.write_bytes(content)
    status = main(["--lang", "en", "step", str(path)])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("mmtrace: error: ")
    assert str(path) in lines[0]


def test_step_missing_command_file_exit_2(trace_file, tmp_path, capsys):
    status = main(["--lang", "en", "step", str(trace_file), "--commands", str(tmp_path / "none.txt")])
    err = capsys.readouterr().err
    assert status == 2
    assert "cannot read command file" in err


def test_step_completion_offers_site_names(trace):
    shell = StepShell(trace, stdout=io.StringIO())
    assert "next " in shell.completions("", "")
    assert "reverse-continue " in shell.completions("rev", "rev")
    assert shell.completions("goto lay", "lay") == ["layers."]
    assert shell.completions("goto layers.", "layers.") == ["layers.0.", "layers.1."]
    assert "layers.0.attn.probs" in shell.completions("print layers.0.attn.p", "layers.0.attn.p")
    assert "layers.0.attn." in shell.completions("break layers.0.a", "layers.0.a")
    assert "logits" in shell.completions("watch l", "l")
    assert shell.completions("info s", "s") == ["sites"]
    assert "layers." in shell.completions("info sites l", "l")
    assert "heatmap" in shell.completions("help he", "he")
    assert shell.completions("next ", "") == []


def test_step_moe_ffn_sublayer_groups_experts(tmp_path, capsys):
    trace = _record("m3_moe")
    path = tmp_path / "moe.mmtrace"
    save_trace(trace, path)
    _, out, _ = _session(capsys, path, ["goto layers.0.moe.router_probs", "up"], tmp_path)
    found = _locations(out)
    assert found[1][1] == "layers.0 > ffn > moe.router_probs"
    assert found[2][1] == "layers.0 > ffn"
    children = out.split("layers.0 > ffn  [sublayer]\n", 1)[1]
    assert "moe.router_probs" in children
    assert "out " in children


def test_step_generation_trace_passes(tmp_path, capsys):
    model = load_checkpoint(PARITY / "m3_dense" / "model.pth")
    trace = trace_generation(model, None, IDS[0], 2)
    path = tmp_path / "gen.mmtrace"
    save_trace(trace, path)
    start = trace.passes[2].start
    _, out, err = _session(capsys, path, ["goto layers.0.attn.probs@2", "heatmap", "print logits@1"], tmp_path)
    assert err == ""
    assert "pass 2" in out
    heat = out.split("(mmtrace) heatmap\n", 1)[1].splitlines()
    assert heat[0].startswith("layers.0.attn.probs@2  head 0")
    rows = [line for line in heat if re.match(rf"^{start} ", line)]
    assert len(rows) == 1
    assert "·" not in rows[0]  # the new token attends to every cached key
    assert "logits@1  (1, 1, 256)" in out


def test_step_stats_mode_trace_prints_without_values(tmp_path, capsys):
    path = tmp_path / "stats.mmtrace"
    save_trace(_record("m3_dense", mode="stats"), path)
    _, out, err = _session(capsys, path, ["goto logits", "print", "print [0, 0]"], tmp_path)
    assert "values not stored" in out
    assert "recorded in 'stats' mode" in err


def test_step_heatmap_window_in_narrow_terminal():
    model = load_checkpoint(PARITY / "m3_dense" / "model.pth")
    with Tracer(model, sites="layers.0.attn.probs") as tracer, torch.no_grad():
        model(torch.arange(3, 23)[None, :])
    shell = StepShell(tracer.trace, stdout=io.StringIO(), width=40)
    shell.execute("heatmap 0")
    lines = shell.stdout.getvalue().splitlines()
    # 40 columns fit 8 keys, so the default window is the bottom-right 8 x 8 square.
    assert lines[1] == "queries 12-19, keys 12-19 shown; pick others with queries A:B, keys A:B"
    rows = [line for line in lines if re.match(r"^\d\d \d", line)]
    assert [row.split()[0] for row in rows] == [str(p) for p in range(12, 20)]
    assert "·" not in rows[-1]  # the last query attends to every key
    shell.execute("heatmap 0 keys 0:8 queries 0:4")
    assert "queries 0-3, keys 0-7 shown" in shell.stdout.getvalue()


def test_step_marks_derived_sites(capsys, tmp_path):
    from pathlib import Path

    from tracer import UpstreamTracer, load_upstream_model

    toy = Path(__file__).parent / "upstream_toy"
    model = load_upstream_model(toy, PARITY / "m3_dense" / "model.pth")
    with UpstreamTracer(model) as tracer, torch.no_grad():
        model(torch.tensor(IDS))
    path = tmp_path / "upstream.mmtrace"
    save_trace(tracer.trace, path)

    _, out, err = _session(capsys, path, ["goto layers.0.attn.probs", "where", "print", "goto layers.0.attn.q", "where"], tmp_path)
    assert err == ""
    where_probs, where_q = [part.splitlines()[1] for part in out.split("(mmtrace) ") if part.startswith("where\n")]
    assert where_probs.endswith("(derived)")
    assert "(derived)" not in where_q
    assert "derived: the tracer recomputed this" in out
    assert out.count("derived: the tracer recomputed this") == 1

    _, out, _ = _session(capsys, path, ["goto layers.0.attn.scores", "where"], tmp_path, lang="zh")
    assert "（推导）" in out
