"""`mmtrace scenes`: list the scene ids that `mmtrace render` accepts, in curriculum order."""

from __future__ import annotations

import argparse

from ..i18n import get_lang, t


def add_parser(subparsers) -> argparse.ArgumentParser:
    return subparsers.add_parser("scenes", help=t("scenes.help"), description=t("scenes.help"))


def run(args: argparse.Namespace) -> int:
    from scenes.registry import list_scenes

    entries = list_scenes()
    width = max(len(entry.id) for entry in entries)
    lang = get_lang()
    for entry in entries:
        print(f"{entry.id.ljust(width)}  {entry.summary(lang)}")
    return 0
