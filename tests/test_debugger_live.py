"""Live debugging: pauses inside a real forward pass, edits that change what follows, and `mmtrace debug`."""

from __future__ import annotations

import pytest
import torch

from minimind import load_checkpoint
from tracer import Tracer
from tracer.cli.main import main
from tracer.debugger.errors import DebuggerError
from tracer.debugger.live import LiveDebugger, pause_at

from .conftest import PARITY

CHECKPOINT = PARITY / "m3_dense" / "model.pth"
IDS = torch.tensor([[1, 9, 33, 70, 5, 120]])


@pytest.fixture(scope="module")
def model():
    return load_checkpoint(CHECKPOINT)


def _traced(model, debugger=None):
    """Run the model once under a Tracer (inside `debugger` when given); return (logits, trace)."""
    with torch.no_grad():
        if debugger is None:
            with Tracer(model) as tracer:
                logits = model(IDS).logits
        else:
            with debugger, Tracer(model) as tracer:
                logits = model(IDS).logits
    return logits, tracer.trace


def test_live_pause_without_edit_is_bitwise_identical(model):
    seen = []

    def look(pause):
        seen.append((pause.site, pause.stats.max, tuple(pause.tensor.shape)))

    debugger = LiveDebugger(model, breaks=["layers.*.attn.probs", "logits"], handler=look)
    result = debugger.run(IDS)
    assert [site for site, _, _ in seen] == ["layers.0.attn.probs", "layers.1.attn.probs", "logits"]
    assert seen[0][2] == (1, 4, 6, 6)
    assert result.identical
    assert result.edits == []
    with torch.no_grad():
        assert torch.equal(result.after, model(IDS).logits)


def test_live_zero_head_changes_only_downstream(model):
    plain_logits, plain = _traced(model)
    debugger = pause_at(model, "layers.0.attn.probs", lambda pause: pause.zero_head(1))
    edited_logits, edited = _traced(model, debugger)

    # Upstream of the pause nothing changes; the paused site and everything after it do.
    assert torch.equal(plain["layers.0.attn.scores"], edited["layers.0.attn.scores"])
    assert torch.equal(edited["layers.0.attn.probs"][:, 1], torch.zeros(1, 6, 6))
    assert torch.equal(edited["layers.0.attn.probs"][:, 0], plain["layers.0.attn.probs"][:, 0])
    assert torch.equal(edited["layers.0.attn.heads"][:, :, 1], torch.zeros(1, 6, 16))
    assert not torch.equal(edited["layers.0.attn.out"], plain["layers.0.attn.out"])
    assert not torch.equal(edited["layers.1.resid_post"], plain["layers.1.resid_post"])
    assert not torch.equal(edited_logits, plain_logits)
    assert debugger.pauses[0].edits == ["zero head 1"]


def test_live_handler_may_return_a_replacement(model):
    debugger = pause_at(model, "layers.1.resid_post", lambda pause: pause.tensor * 0)
    result = debugger.run(IDS)
    assert not result.identical
    assert result.edits == [("layers.1.resid_post", "replace")]
    # A zero residual stream normalises to zero, so every logit is zero.
    assert torch.count_nonzero(result.after) == 0


def test_live_set_and_scale_and_reset(model):
    def edit(pause):
        pause.scale(0.5)
        pause.set("[0, 2]", 3.0)
        assert torch.equal(pause.tensor[0, 2], torch.full((64,), 3.0))
        assert torch.allclose(pause.tensor[0, 0], pause.original[0, 0] * 0.5)
        pause.reset()
        assert pause.tensor is pause.original

    result = pause_at(model, "layers.0.resid_mid", edit).run(IDS)
    assert result.identical


def test_live_condition_picks_the_layer(model):
    _, plain = _traced(model)
    maxima = [plain.stats(f"layers.{i}.attn.scores").max for i in range(2)]
    threshold = sum(maxima) / 2
    expected = f"layers.{maxima.index(max(maxima))}.attn.scores"
    sites = []
    pause_at(model, "layers.*.attn.scores", lambda pause: sites.append(pause.site), condition=f"max > {threshold}").run(IDS)
    assert sites == [expected]


def test_live_next_pauses_at_the_following_site(model):
    sites = []

    def handler(pause):
        sites.append(pause.site)
        if len(sites) < 3:
            debugger.pause_next = True

    debugger = LiveDebugger(model, breaks=["layers.0.attn.scores"], handler=handler)
    debugger.run(IDS)
    assert sites == ["layers.0.attn.scores", "layers.0.attn.probs", "layers.0.attn.heads"]


def test_live_edit_errors(model):
    problems = []

    def handler(pause):
        for edit in (lambda: pause.zero_head(7), lambda: pause.set("[0, 99]", 1.0), lambda: pause.replace(torch.zeros(2))):
            with pytest.raises(DebuggerError) as caught:
                edit()
            problems.append(str(caught.value))

    pause_at(model, "layers.0.attn.probs", handler).run(IDS)
    assert "head 7 does not exist at layers.0.attn.probs: it has 4 heads" in problems[0]
    assert "out of range" in problems[1]
    assert "has shape (2,), not (1, 4, 6, 6)" in problems[2]

    def no_heads(pause):
        with pytest.raises(DebuggerError, match="has no heads dimension"):
            pause.zero_head(0)

    pause_at(model, "layers.0.resid_pre", no_heads).run(IDS)
    with pytest.raises(DebuggerError, match="no site of the model matches 'layers.9.attn.probs'"):
        LiveDebugger(model, breaks=["layers.9.attn.probs"])


def test_live_hooks_are_removed(model):
    debugger = pause_at(model, "layers.0.attn.probs", lambda pause: pause.zero_head(0))
    with debugger:
        pass
    with torch.no_grad():
        logits = model(IDS).logits
    assert debugger.pauses == []
    assert torch.equal(logits, debugger.run(IDS).before)


# --- mmtrace debug ---------------------------------------------------------------------------


def _debug(capsys, tmp_path, commands, *extra):
    script = tmp_path / "commands.txt"
    script.write_text("\n".join(commands) + "\n", encoding="utf-8")
    args = ["--lang", "en", "debug", "--ids", "1,9,33,70,5,120", "--checkpoint", str(CHECKPOINT), "--commands", str(script), *extra]
    status = main(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_debug_cli_zero_head_reports_effect(capsys, tmp_path):
    commands = ["where", "print [0, 1, 2]", "zero head 9", "zero head 1", "print [0, 1]", "continue"]
    status, out, err = _debug(capsys, tmp_path, commands, "--break", "layers.0.attn.probs")
    assert status == 1  # `zero head 9` failed
    assert err.strip() == "error: head 9 does not exist at layers.0.attn.probs: it has 4 heads, 0 to 3"
    assert "▶ paused at step 19  layers.0 > attn > probs  (layers.0.attn.probs)" in out
    assert "edited layers.0.attn.probs: zero head 1" in out
    assert "layers.0.attn.probs[0, 1]  (6, 6)  query × key  float32\n  mean 0  std 0  rms 0  min 0  max 0" in out
    assert "top 5 next-token predictions after position 5" in out
    assert "max |change of a logit|" in out
    assert "bitwise identical" not in out


def test_debug_cli_without_edits_is_identical(capsys, tmp_path):
    status, out, err = _debug(capsys, tmp_path, ["print", "continue", "continue"], "--break", "layers.*.attn.scores")
    assert status == 0
    assert err == ""
    assert out.count("▶ paused at") == 2
    assert "no edits were made" in out
    assert "the logits are bitwise identical to a plain forward pass" in out


def test_debug_cli_condition_and_later_break(capsys, tmp_path):
    commands = ["break layers.1.resid_post", "print layers.0.attn_norm.out", "print layers.1.attn.out", "continue", "rms", "scale 0", "continue"]
    status, out, err = _debug(capsys, tmp_path, commands, "--break", "layers.0.attn.scores", "--if", "max > -1000")
    assert "breakpoint 1: layers.0.attn.scores if max > -1000" in out
    assert "breakpoint 2: layers.1.resid_post" in out
    assert "layers.0.attn_norm.out  (1, 6, 64)" in out
    assert "layers.1.attn.out is not computed yet in this pass" in err
    assert "layers.1.resid_post: RMS per token over hidden" in out
    assert "edited layers.1.resid_post: scale 0" in out
    assert status == 1


def test_debug_cli_end_of_commands_finishes_pass(capsys, tmp_path):
    status, out, _ = _debug(capsys, tmp_path, ["set [0, 0, 0, 0] = 5"], "--break", "layers.0.attn.q", "--break", "layers.1.attn.q")
    assert status == 0
    assert out.count("▶ paused at") == 1  # without commands left, the pass runs on without pausing
    assert "edited layers.0.attn.q: set [0, 0, 0, 0] = 5" in out


def test_debug_cli_display_only_site_warns(capsys, tmp_path):
    _, out, _ = _debug(capsys, tmp_path, ["scale 3", "continue"], "--break", "layers.0.attn_norm.rms_in")
    assert "edits here change nothing downstream" in out
    assert "the logits are bitwise identical" in out


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--break", "layers.7.attn.probs"], "no site of the model matches 'layers.7.attn.probs'"),
        (["--break", "layers.0.attn.probs", "--if", "max >>"], "invalid condition 'max >>'"),
        (["--break", "layers.0.attn.probs", "--top-k", "0"], "--top-k 0 is too small"),
    ],
)
def test_debug_cli_bad_input_exit_2(capsys, tmp_path, extra, fragment):
    status, out, err = _debug(capsys, tmp_path, ["continue"], *extra)
    assert status == 2
    assert len(err.strip().splitlines()) == 1
    assert fragment in err
