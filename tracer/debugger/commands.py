"""Command parsing and dispatch shared by the step debugger and the live debugger.

A `Shell` contains a table of commands, and `execute(line)` finds the command by name, alias or
unique prefix and runs it. A command that fails with a MiniMindError (a bad site, index
or condition) prints one error line and the session goes on.
"""

from __future__ import annotations

import io
import logging
import shlex
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from minimind.errors import MiniMindError

from ..i18n import t
from .errors import DebuggerError, error_message
from .text import Style, pad, text_width

logger = logging.getLogger(__name__)

# Kinds of REPL completion for a command's arguments.
COMPLETE_NONE, COMPLETE_SITE, COMPLETE_COMMAND, COMPLETE_INFO = "none", "site", "command", "info"
HELP_USAGE_COLUMNS = 24  # usages longer than this get their own line in the command list


@dataclass(frozen=True)
class Command:
    """One debugger command. `run(args)` returns True when the session should end."""

    name: str
    run: Callable[[str], bool | None]
    usage: str  # the syntax, the same in every language, e.g. "next [N]"
    help_key: str  # catalogue key of the one-line summary; `help_key + ".detail"` is the long help
    aliases: tuple[str, ...] = ()
    complete: str = COMPLETE_NONE


class Shell:
    """A table of commands with one-line errors, per-command help and completion candidates."""

    prompt = "(mmtrace) "

    def __init__(self, stdout=None, stderr=None, style: Style | None = None, width: int = 100):
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.style = style or Style()
        self.width = width
        self.commands: dict[str, Command] = {}
        self.errors = 0  # commands that failed, for a non-zero exit status in scripts
        self.add(Command("help", self.do_help, "help [COMMAND]", "debug.cmd.help", ("h", "?"), COMPLETE_COMMAND))

    # --- the command table -----------------------------------------------------------------

    def add(self, command: Command) -> None:
        self.commands[command.name] = command

    def lookup(self, word: str) -> Command:
        """Find a command by name, alias or unique prefix; raises DebuggerError otherwise."""
        if word in self.commands:
            return self.commands[word]
        for command in self.commands.values():
            if word in command.aliases:
                return command
        found = [command for name, command in self.commands.items() if name.startswith(word)]
        if len(found) == 1:
            return found[0]
        if found:
            names = ", ".join(sorted(command.name for command in found))
            raise DebuggerError(
                f"{word!r} is ambiguous: it starts {names}; type more letters",
                key="debug.error.ambiguous",
                word=word,
                names=names,
            )
        raise DebuggerError(
            f"unknown command {word!r}: type help for the list of commands",
            key="debug.error.unknown_command",
            word=word,
        )

    def names(self) -> list[str]:
        """Command names and aliases, for completion."""
        names = list(self.commands)
        for command in self.commands.values():
            names.extend(alias for alias in command.aliases if alias.isalpha() or "-" in alias)
        return names

    # --- running ---------------------------------------------------------------------------

    def execute(self, line: str) -> bool:
        """Run one command line; return True when the session should end.

        Blank lines and lines starting with # do nothing. Errors print one line and are
        counted in `self.errors`.
        """
        line = line.strip()
        if not line or line.startswith("#"):
            return False
        word, _, rest = line.partition(" ")
        try:
            command = self.lookup(word)
            return bool(command.run(rest.strip()))
        except MiniMindError as error:
            self.error(error_message(error))
        except Exception as error:  # a bug must not end an interactive session; the log keeps the traceback
            logger.debug("command %r failed", line, exc_info=True)
            self.error(t("debug.internal_error", command=word, error=f"{type(error).__name__}: {error}"))
        return False

    def write(self, text: str = "") -> None:
        self.stdout.write(text + "\n")

    def write_lines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def error(self, message: str) -> None:
        self.errors += 1
        self.stdout.flush()
        self.stderr.write(self.style.error(t("debug.error", message=message)) + "\n")
        self.stderr.flush()

    # --- help ------------------------------------------------------------------------------

    def do_help(self, args: str) -> None:
        if args:
            command = self.lookup(args.split()[0])
            self.write(self.style.bold(command.usage))
            if command.aliases:
                self.write("  " + t("debug.aliases", aliases=", ".join(command.aliases)))
            self.write("  " + t(command.help_key))
            detail_key = command.help_key + ".detail"
            try:
                detail = t(detail_key)
            except KeyError:
                detail = ""
            for line in detail.splitlines():
                self.write("  " + line)
            return
        self.write(t("debug.help_title"))
        short = [text_width(command.usage) for command in self.commands.values() if text_width(command.usage) <= HELP_USAGE_COLUMNS]
        width = max(short, default=HELP_USAGE_COLUMNS)
        for command in self.commands.values():
            summary = t(command.help_key)
            if text_width(command.usage) > width:
                # A long usage gets a line of its own, so the summaries stay in one column.
                self.write(f"  {command.usage}")
                self.write(f"  {' ' * width}  {summary}")
            else:
                self.write(f"  {pad(command.usage, width)}  {summary}")
        self.write(t("debug.help_more"))

    # --- completion ------------------------------------------------------------------------

    def site_names(self) -> list[str]:
        """Site names offered by completion; subclasses return their trace's or model's sites."""
        return []

    def completions(self, line: str, text: str) -> list[str]:
        """Return the words that may replace `text`, the word being typed at the end of `line`."""
        before = line[: len(line) - len(text)]
        if not before.strip():
            return sorted(name + " " for name in self.names() if name.startswith(text))
        try:
            command = self.lookup(before.split()[0])
        except DebuggerError:
            return []
        if command.complete == COMPLETE_SITE:
            return complete_dotted(self.site_names(), text)
        if command.complete == COMPLETE_COMMAND:
            return sorted(name for name in self.names() if name.startswith(text))
        if command.complete == COMPLETE_INFO:
            words = before.split()
            if len(words) >= 2 and "sites".startswith(words[1]):
                return complete_dotted(self.site_names(), text)
            return [word for word in self.info_topics() if word.startswith(text)]
        return []

    def info_topics(self) -> list[str]:
        return []


def complete_dotted(names: Iterable[str], text: str) -> list[str]:
    """Complete `text` to the names it starts, one dotted part at a time.

    `layers.` offers `layers.0.`, `layers.1.`, ...; a name with no dot left is offered whole.
    """
    found: dict[str, None] = {}
    for name in names:
        if name.startswith(text):
            dot = name.find(".", len(text))
            found[name[: dot + 1] if dot >= 0 else name] = None
    return list(found)


def parse_count(args: str, name: str) -> int:
    """Parse an optional repeat count (default 1); raises DebuggerError unless it is a positive integer."""
    if not args:
        return 1
    words = args.split()
    if len(words) == 1 and words[0].isdigit() and int(words[0]) > 0:
        return int(words[0])
    raise DebuggerError(
        f"{name}: invalid count {args!r}: give a positive whole number, such as {name} 3",
        key="debug.error.count",
        command=name,
        value=args,
    )


def parse_int(value: str, label: str) -> int:
    """Parse an integer argument described by `label`; raises DebuggerError naming it."""
    try:
        return int(value)
    except ValueError:
        raise DebuggerError(
            f"invalid {label} {value!r}: give a whole number",
            key="debug.error.integer",
            what=label,
            value=value,
        ) from None


def split_words(args: str) -> list[str]:
    """Split arguments like a shell, so a quoted glob stays one word."""
    try:
        return shlex.split(args)
    except ValueError:
        return args.split()


def capture(shell: Shell, lines: Iterable[str]) -> str:
    """Run command lines on a shell whose output goes to a string; for tests and notebooks."""
    buffer = io.StringIO()
    shell.stdout = shell.stderr = buffer
    for line in lines:
        if shell.execute(line):
            break
    return buffer.getvalue()
