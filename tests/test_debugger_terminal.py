"""`mmtrace step` at a real pseudo-terminal: readline tab completion of site names and the history file."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from minimind import load_checkpoint
from tracer import Tracer
from tracer.tracefile import save_trace

from .conftest import PARITY

pty = pytest.importorskip("pty")
ROOT = Path(__file__).resolve().parent.parent
PROMPT = b"(mmtrace) "
GUARD_SECONDS = 60  # a hung child fails the test instead of blocking the run; not a speed check


def _read_until_prompt(fd: int) -> str:
    data = b""
    while not data.endswith(PROMPT):
        ready, _, _ = select.select([fd], [], [], GUARD_SECONDS)
        if not ready:
            raise AssertionError(f"no prompt from mmtrace step; output so far: {data.decode(errors='replace')!r}")
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", errors="replace")


def test_terminal_completion_and_history(tmp_path):
    model = load_checkpoint(PARITY / "m3_dense" / "model.pth")
    with Tracer(model) as tracer, torch.no_grad():
        model(torch.tensor([[1, 9, 33, 70]]))
    path = tmp_path / "run.mmtrace"
    save_trace(tracer.trace, path)

    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONPATH=str(ROOT), TERM="xterm-256color", COLUMNS="100")
    main_fd, child_fd = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "tracer.cli.main", "--lang", "en", "step", str(path), "--color", "never"],
        stdin=child_fd, stdout=child_fd, stderr=child_fd, env=env, cwd=ROOT, close_fds=True,
    )
    os.close(child_fd)
    try:
        _read_until_prompt(main_fd)

        # Tab completes the site name; the command then runs on the completed name.
        os.write(main_fd, b"goto layers.0.attn.pro\t\n")
        screen = _read_until_prompt(main_fd)
        assert "layers.0 > attn > probs  [op]" in screen

        # Up arrow recalls the previous command from the history.
        os.write(main_fd, b"next\n")
        _read_until_prompt(main_fd)
        os.write(main_fd, b"\x1b[A\n")
        screen = _read_until_prompt(main_fd)
        assert "layers.0 > attn > out  [op]" in screen

        os.write(main_fd, b"quit\n")
        assert process.wait(timeout=GUARD_SECONDS) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(main_fd)

    history = (tmp_path / "cache" / "mmtrace" / "step_history").read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("goto layers.0.attn.probs") for line in history)
    assert history[-1] == "quit"
