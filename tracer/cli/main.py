"""Entry point of `mmtrace`: language selection, subcommand dispatch, one-line errors."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from minimind.errors import MiniMindError

from ..i18n import LANGUAGES, get_lang, has, set_lang, t

# Subcommands in the order `mmtrace --help` lists them; each is tracer/cli/cmd_NAME.py.
COMMANDS = ("generate", "info", "trace", "step", "debug", "diff", "render", "scenes", "lecture")


class LocalisedFormatter(argparse.HelpFormatter):
    """Help formatter whose "usage:" prefix comes from the catalogue."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, t("cli.usage") + " " if prefix is None else prefix)


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line, exit status 2, in the chosen language."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", LocalisedFormatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=t("cli.help"))

    def error(self, message: str) -> None:  # noqa: D401 - argparse's name
        hint = t("cli.usage_hint", prog=self.prog)
        sys.stderr.write(t("cli.error", message=f"{message}: {hint}") + "\n")
        sys.exit(2)

    def format_help(self) -> str:
        self._positionals.title = t("cli.positionals")
        self._optionals.title = t("cli.options")
        return super().format_help()


def _lang_from_argv(argv: list[str]) -> str | None:
    for index, arg in enumerate(argv):
        if arg == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def add_lang_option(parser: argparse.ArgumentParser) -> None:
    """Accept --lang on any subcommand, so it may follow the command name."""
    parser.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS, help=t("cli.lang"))


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every subcommand that is installed."""
    parser = OneLineParser(prog="mmtrace", description=t("cli.description"))
    parser.add_argument("--lang", choices=LANGUAGES, help=t("cli.lang"))
    parser.add_argument("-v", "--verbose", action="store_true", help=t("cli.verbose"))
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title=t("cli.commands_title"), parser_class=OneLineParser)
    subparsers.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"{__package__}.cmd_{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{__package__}.cmd_{name}":
                raise
            continue
        sub = module.add_parser(subparsers)
        add_lang_option(sub)
        sub.set_defaults(run=module.run)
    return parser


def localise(error: MiniMindError) -> str:
    """Return the error's message in the current language when the catalogue has its key.

    English messages are the exceptions' own text; other languages look the key up.
    """
    if get_lang() != "en" and error.key and has(error.key, get_lang()):
        try:
            return t(error.key, **error.params)
        except (KeyError, IndexError, ValueError):
            pass
    return str(error)


class LocalisedLogFormatter(logging.Formatter):
    """Show a log record in the user's language when it names a catalogue key (see minimind.errors.catalogue_entry)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        key = getattr(record, "catalogue_key", None)
        if key is not None:
            record.message = t(key, **getattr(record, "catalogue_params", {}))
        return super().formatMessage(record)


def main(argv: list[str] | None = None) -> int:
    """Run mmtrace with `argv` (default: sys.argv) and return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    set_lang(_lang_from_argv(argv))
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(LocalisedLogFormatter("%(levelname)s %(name)s: %(message)s"))
    try:
        return int(args.run(args) or 0)
    except MiniMindError as error:
        sys.stderr.write(t("cli.error", message=localise(error)) + "\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(t("cli.interrupted") + "\n")
        return 130
    except BrokenPipeError:
        # The reader went away (mmtrace info run.mmtrace | head): stop quietly, as cat does.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
