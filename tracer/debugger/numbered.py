"""Removal of numbered entries (breakpoints, watches) shared by the step and live debuggers."""

from __future__ import annotations

from typing import TypeVar

from .errors import DebuggerError

T = TypeVar("T")


def remove_numbered(items: list[T], number: int | None, error: DebuggerError) -> list[T]:
    """Remove the entry whose `.number` is `number` (every entry for None) and return the removed ones.

    `items` is changed in place; `error` is raised when no entry has that number.
    """
    if number is None:
        removed = list(items)
        items.clear()
        return removed
    for item in items:
        if item.number == number:
            items.remove(item)
            return [item]
    raise error
