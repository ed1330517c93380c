"""The read-eval-print loop: readline editing, a history file and tab completion, or a script.

Interactive sessions keep their history in `$XDG_CACHE_HOME/mmtrace/` (default
`~/.cache/mmtrace/`), one file per tool. A script (a `--commands` file, or standard input
when it is not a terminal) echoes each command after the prompt, so its output reads like a
session.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from .commands import Shell
from .errors import DebuggerError

logger = logging.getLogger(__name__)

HISTORY_LENGTH = 1000


def history_path(name: str) -> Path:
    """Return the history file for tool `name`, such as ~/.cache/mmtrace/step_history."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mmtrace" / f"{name}_history"


class ScriptReader:
    """Command lines from a file or a pipe; blank lines and # comments are skipped, each command is echoed."""

    def __init__(self, lines: Iterable[str]):
        self._lines = iter(lines)

    def read(self, shell: Shell) -> str | None:
        for line in self._lines:
            line = line.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            shell.write(shell.prompt + line)
            return line
        return None

    def close(self) -> None:
        pass


class TerminalReader:
    """Command lines typed at a terminal, with readline editing, history and completion.

    Completion queries the shell passed to the latest `read`, so one reader serves the
    successive shells of a live session.
    """

    def __init__(self, history: str):
        self.history = history_path(history)
        self.shell: Shell | None = None
        self._matches: list[str] = []
        self._readline = self._setup()

    def read(self, shell: Shell) -> str | None:
        self.shell = shell
        while True:
            try:
                return input(shell.prompt)
            except EOFError:
                shell.write()
                return None
            except KeyboardInterrupt:
                # Ctrl-C abandons the line being typed, as in a shell; Ctrl-D or quit ends the session.
                shell.write()

    def close(self) -> None:
        if self._readline is None:
            return
        try:
            self.history.parent.mkdir(parents=True, exist_ok=True)
            self._readline.write_history_file(str(self.history))
        except OSError as error:
            logger.warning("cannot write history file %s: %s", self.history, error)

    def _complete(self, text: str, state: int):
        if state == 0:
            line = self._readline.get_line_buffer()[: self._readline.get_endidx()]
            self._matches = self.shell.completions(line, text) if self.shell else []
        return self._matches[state] if state < len(self._matches) else None

    def _setup(self):
        try:
            import readline
        except ImportError:  # Windows without pyreadline: plain input() still works
            return None
        readline.set_history_length(HISTORY_LENGTH)
        if self.history.exists():
            try:
                readline.read_history_file(str(self.history))
            except OSError as error:
                logger.warning("cannot read history file %s: %s", self.history, error)
        readline.set_completer(self._complete)
        readline.set_completer_delims(" \t\n")
        if "libedit" in (readline.__doc__ or ""):
            readline.parse_and_bind("bind ^I rl_complete")  # macOS's libedit reads another syntax
        else:
            readline.parse_and_bind("tab: complete")
        return readline


def run_loop(shell: Shell, reader) -> bool:
    """Execute lines from `reader` until a command ends the shell (True) or input ends (False)."""
    while True:
        line = reader.read(shell)
        if line is None:
            return False
        if shell.execute(line):
            return True


def make_reader(lines: list[str] | None, history: str, stdin=None):
    """Return a ScriptReader for --commands lines or piped standard input, else a TerminalReader."""
    stdin = stdin or sys.stdin
    if lines is not None:
        return ScriptReader(lines)
    if not stdin.isatty():
        return ScriptReader(stdin)
    return TerminalReader(history)


def read_commands(path) -> list[str]:
    """Read a command file as lines; raises DebuggerError (one line) when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        raise DebuggerError(
            f"cannot read command file {path} ({reason}): pass a UTF-8 text file with one command per line",
            key="debug.error.commands_file",
            path=str(path),
            reason=reason,
        ) from None


def run_session(shell: Shell, lines: list[str] | None = None, history: str = "step", stdin=None) -> int:
    """Run a shell on --commands lines, on standard input when it is not a terminal, or interactively.

    Returns the exit status: 0, or 1 when a scripted session had a failing command.
    """
    reader = make_reader(lines, history, stdin)
    try:
        run_loop(shell, reader)
    finally:
        reader.close()
    scripted = isinstance(reader, ScriptReader)
    return 1 if scripted and shell.errors else 0
