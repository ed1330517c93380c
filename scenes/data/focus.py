"""Which layer, head and token a scene looks at: requested values checked against the trace."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from minimind.errors import MiniMindError
from tracer.i18n import t


@dataclass(frozen=True)
class Focus:
    """A requested focus; None lets the scene pick. `token` is a position, negative counts from the end."""

    layer: int | None = None
    head: int | None = None
    token: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def check_index(value: int, count: int, option: str) -> int:
    """Return `value` (negative counts from the end) when it indexes `count` items, else raise MiniMindError.

    `option` is "layer", "head" or "token", naming the command-line option in the message.
    """
    index = value + count if value < 0 else value
    if not 0 <= index < count:
        key = f"render.error.{option}_range"
        raise MiniMindError(t(key, lang="en", value=value, count=count, last=count - 1), key=key, value=value, count=count, last=count - 1)
    return index


def is_special(label: str) -> bool:
    """Return True for special-token labels such as <|im_start|>."""
    return label.startswith("<|") and label.endswith("|>")


def content_positions(labels: list[str]) -> list[int]:
    """Return the positions of non-special tokens (all positions when every token is special)."""
    positions = [i for i, label in enumerate(labels) if not is_special(label)]
    return positions or list(range(len(labels)))
