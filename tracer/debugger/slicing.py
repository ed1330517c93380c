"""Index expressions such as `[0, 3]`, `[0, :, 1:4]` or `[..., -1]`, parsed without eval.

Items are integers, slices `start:stop:step` (each part optional and possibly negative), a
bare `:` or one `...`, as in NumPy basic indexing.
"""

from __future__ import annotations

import re

import torch

from .errors import DebuggerError

Index = tuple  # of int | slice | type(Ellipsis)

_INT = re.compile(r"^[-+]?\d+$")


def split_target(text: str) -> tuple[str, str | None]:
    """Split `layers.0.attn.probs[0, 3]` into ("layers.0.attn.probs", "[0, 3]"); the index may be absent."""
    text = text.strip()
    bracket = text.find("[")
    if bracket < 0:
        return text, None
    return text[:bracket].strip(), text[bracket:].strip()


def parse_index(text: str) -> Index:
    """Parse `[a, b:c, ...]` into an index tuple; raises DebuggerError naming the bad item."""
    body = text.strip()
    if not (body.startswith("[") and body.endswith("]")):
        raise _error(text, "brackets")
    body = body[1:-1].strip()
    if not body:
        return ()
    items = []
    for part in body.split(","):
        part = part.strip()
        if part == "...":
            if Ellipsis in items:
                raise _error(text, "ellipsis")
            items.append(Ellipsis)
        elif ":" in part:
            pieces = [piece.strip() for piece in part.split(":")]
            if len(pieces) > 3 or any(piece and not _INT.match(piece) for piece in pieces):
                raise _error(text, "item", item=part)
            numbers = [int(piece) if piece else None for piece in pieces] + [None] * (3 - len(pieces))
            if numbers[2] is not None and numbers[2] <= 0:
                raise _error(text, "step", item=part)
            items.append(slice(*numbers))
        elif _INT.match(part):
            items.append(int(part))
        else:
            raise _error(text, "item", item=part)
    return tuple(items)


def apply_index(tensor: torch.Tensor, dims: tuple[str, ...], index: Index) -> tuple[torch.Tensor, tuple[str, ...]]:
    """Index `tensor` and return the result with the labels of the dimensions that remain.

    Raises DebuggerError when the index has too many items or an integer is out of range.
    """
    expanded = _expand(index, tensor.dim(), dims)
    remaining = []
    for axis, item in enumerate(expanded):
        size = tensor.shape[axis]
        if isinstance(item, int):
            if not -size <= item < size:
                raise DebuggerError(
                    f"index {item} is out of range for dimension {axis} ({dims[axis]}) of size {size}: use {-size} to {size - 1}",
                    key="debug.error.index_range",
                    index=item,
                    axis=axis,
                    dim=dims[axis],
                    size=size,
                    low=-size,
                    high=size - 1,
                )
        else:
            remaining.append(dims[axis])
    return tensor[tuple(expanded)], tuple(remaining)


def format_index(index: Index) -> str:
    """Write an index tuple back as `[0, 1:3, ...]`."""
    parts = []
    for item in index:
        if item is Ellipsis:
            parts.append("...")
        elif isinstance(item, slice):
            text = f"{'' if item.start is None else item.start}:{'' if item.stop is None else item.stop}"
            if item.step is not None:
                text += f":{item.step}"
            parts.append(text)
        else:
            parts.append(str(item))
    return "[" + ", ".join(parts) + "]"


def _expand(index: Index, ndim: int, dims: tuple[str, ...]) -> list:
    explicit = [item for item in index if item is not Ellipsis]
    if len(explicit) > ndim:
        raise DebuggerError(
            f"index {format_index(index)} has {len(explicit)} items but the tensor has {ndim} dimensions ({', '.join(dims)})",
            key="debug.error.index_rank",
            index=format_index(index),
            items=len(explicit),
            ndim=ndim,
            dims=", ".join(dims),
        )
    if Ellipsis in index:
        at = index.index(Ellipsis)
        fill = [slice(None)] * (ndim - len(explicit))
        return list(index[:at]) + fill + list(index[at + 1 :])
    return list(index) + [slice(None)] * (ndim - len(index))


def _error(text: str, reason: str, item: str = "") -> DebuggerError:
    messages = {
        "brackets": "an index is written in square brackets",
        "ellipsis": "'...' may appear once",
        "item": f"{item!r} is not an integer or a start:stop:step slice",
        "step": f"the step of {item!r} must be a positive integer",
    }
    return DebuggerError(
        f"invalid index {text.strip()!r}: {messages[reason]}, such as [0, 3], [0, :, 1:4] or [..., -1]",
        key=f"debug.error.index_{reason}",
        index=text.strip(),
        item=item,
    )
