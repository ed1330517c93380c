"""The hierarchy a step debugger walks: unit > sublayer > op, over the steps of a trace.

Each level is a linear sequence of nodes over the whole trace, and each node is a run of
consecutive steps:

  level 0, unit:     embed, layers.0, layers.1, ..., final_norm, logits (once per pass)
  level 1, sublayer: embed, layers.0.resid_pre, layers.0.attn_norm, layers.0.attn,
                     layers.0.resid_mid, layers.0.ffn_norm, layers.0.ffn, layers.0.resid_post, ...
  level 2, op:       every step

A unit outside the blocks (embed, final_norm, logits) is its own only sublayer. MoE steps
(`layers.N.moe.*`) belong to the ffn sublayer together with `layers.N.ffn.out`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from ..sites import site_info
from ..trace import Step

UNIT, SUBLAYER, OP = 0, 1, 2
LEVEL_NAMES = ("unit", "sublayer", "op")


@dataclass(frozen=True)
class Node:
    """A run of consecutive steps at one level: [start, stop) in step indices."""

    level: int
    start: int
    stop: int
    pass_index: int
    layer: int | None
    name: str  # "layers.0", "embed" (unit); "attn", "resid_pre" (sublayer); site (op)

    @property
    def size(self) -> int:
        return self.stop - self.start


def unit_name(step: Step) -> str:
    """Return the unit a step belongs to: "layers.N", or the sublayer of a step outside the blocks."""
    return f"layers.{step.layer}" if step.layer is not None else step.sublayer


def sublayer_name(step: Step) -> str:
    """Return the sublayer a step belongs to, inside its unit: attn, ffn, resid_pre, ...

    The residual stream has three probes per block, so each is its own sublayer, named by
    its leaf; MoE routing and experts are part of the ffn sublayer.
    """
    if step.layer is None:
        return step.sublayer
    if step.sublayer == "resid":
        return step.leaf
    if step.sublayer == "moe":
        return "ffn"
    return step.sublayer


def op_name(step: Step) -> str:
    """Return the site relative to its unit: "attn.probs" for "layers.0.attn.probs"."""
    if step.layer is None:
        return step.site
    return step.site.split(".", 2)[2]


class Hierarchy:
    """The nodes of every level over a list of steps, with look-ups by step index."""

    def __init__(self, steps: list[Step]):
        self.steps = steps
        self.levels: list[list[Node]] = [
            self._runs(UNIT, lambda step: (step.pass_index, unit_name(step)), unit_name),
            self._runs(SUBLAYER, lambda step: (step.pass_index, unit_name(step), sublayer_name(step)), sublayer_name),
            [Node(OP, s.index, s.index + 1, s.pass_index, s.layer, s.site) for s in steps],
        ]
        self._starts = [[node.start for node in nodes] for nodes in self.levels]

    def _runs(self, level: int, key, name) -> list[Node]:
        nodes: list[Node] = []
        previous = None
        for step in self.steps:
            current = key(step)
            if current != previous:
                nodes.append(Node(level, step.index, step.index + 1, step.pass_index, step.layer, name(step)))
                previous = current
            else:
                last = nodes[-1]
                nodes[-1] = Node(level, last.start, step.index + 1, last.pass_index, last.layer, last.name)
        return nodes

    def node_number(self, level: int, index: int) -> int:
        """Return the position in `levels[level]` of the node containing step `index`."""
        return bisect.bisect_right(self._starts[level], index) - 1

    def node_at(self, level: int, index: int) -> Node:
        """Return the node of `level` that contains step `index`."""
        return self.levels[level][self.node_number(level, index)]

    def children(self, node: Node) -> list[Node]:
        """Return the nodes one level down inside `node` (the steps for a sublayer)."""
        if node.level >= OP:
            return []
        nodes = self.levels[node.level + 1]
        first = self.node_number(node.level + 1, node.start)
        result = []
        for child in nodes[first:]:
            if child.start >= node.stop:
                break
            result.append(child)
        return result


def site_path(site: str) -> str:
    """Return `layers.0 > attn > probs` for a site name: its unit, sublayer and op, without repeats."""
    info = site_info(site)
    if info.layer is None:
        return site if site == info.sublayer else f"{info.sublayer} > {site.split('.', 1)[1]}"
    relative = site.split(".", 2)[2]
    if info.sublayer == "resid":
        sublayer = info.leaf
    elif info.sublayer == "moe":
        sublayer = "ffn"
    else:
        sublayer = info.sublayer
    op = relative[len(sublayer) + 1 :] if relative.startswith(sublayer + ".") else relative
    parts = [f"layers.{info.layer}", sublayer, op]
    return " > ".join(part for k, part in enumerate(parts) if k == 0 or part != parts[k - 1])
