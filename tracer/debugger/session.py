"""State of a step-debugging session over a recorded trace: position, level, breakpoints, watches.

The session only moves and looks things up, and the command layer (step_shell.py) prints.
Moves follow a source debugger's verbs, with the trace's hierarchy (navigation.py) in place
of call frames. `next` moves to the following node of the current level. `step` goes one
level down, or at the op level to the following op. `finish` leaves the enclosing node, and
`continue` runs to the next breakpoint. `next`, `prev`, `step` and `finish` also stop at a
breakpoint that the move passes over, as gdb's `next` stops inside a called function.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..sites import matches, suggest
from ..trace import Step, Trace
from .conditions import Condition
from .errors import DebuggerError
from .navigation import OP, UNIT, Hierarchy, Node
from .numbered import remove_numbered


@dataclass
class Breakpoint:
    """Stop at steps whose site matches `pattern` (a glob, a name prefix or a step number), if `condition` holds."""

    number: int
    pattern: str
    condition: Condition | None = None
    hits: int = 0

    def matches(self, step: Step) -> bool:
        if self.pattern.isdigit():
            return step.index == int(self.pattern)
        return matches(step.site, self.pattern)

    def triggers(self, step: Step) -> bool:
        """True when the step matches and the condition holds on its statistics."""
        return self.matches(step) and (self.condition is None or self.condition(step.stats))


@dataclass
class Watch:
    """A statistic shown at every stop: of the latest step at or before the position whose site matches."""

    number: int
    pattern: str
    stat: str | None  # None shows the whole statistics line


@dataclass
class Stop:
    """The end point of a move and the reason it stopped there."""

    moved: bool = True
    breakpoint: Breakpoint | None = None
    edge: str | None = None  # "end" or "start" when the move ran into the end of the trace


@dataclass
class StepSession:
    """A position in a trace, the level it is viewed at, and the user's breakpoints and watches."""

    trace: Trace
    position: int = 0
    level: int = UNIT
    breakpoints: list[Breakpoint] = field(default_factory=list)
    watches: list[Watch] = field(default_factory=list)

    def __post_init__(self):
        if not self.trace.steps:
            raise DebuggerError("the trace has no steps: record it again with at least one site", key="step.error.empty_trace")
        self.hierarchy = Hierarchy(self.trace.steps)
        self._next_breakpoint = 1
        self._next_watch = 1

    # --- where ---------------------------------------------------------------------------

    @property
    def step(self) -> Step:
        """The step at the position."""
        return self.trace.steps[self.position]

    @property
    def node(self) -> Node:
        """The node at the current level that contains the position."""
        return self.hierarchy.node_at(self.level, self.position)

    @property
    def last(self) -> int:
        return len(self.trace.steps) - 1

    # --- moves ---------------------------------------------------------------------------

    def next(self, count: int = 1) -> Stop:
        """Move `count` nodes forward at the current level."""
        number = self.hierarchy.node_number(self.level, self.position)
        nodes = self.hierarchy.levels[self.level]
        target = min(number + count, len(nodes) - 1)
        edge = "end" if number + count > len(nodes) - 1 else None
        return self._move_to(nodes[target].start, self.level, edge)

    def prev(self, count: int = 1) -> Stop:
        """Move `count` nodes backward at the current level, to the start of that node."""
        number = self.hierarchy.node_number(self.level, self.position)
        nodes = self.hierarchy.levels[self.level]
        edge = "start" if number - count < 0 else None
        return self._move_to(nodes[max(number - count, 0)].start, self.level, edge)

    def step_into(self, count: int = 1) -> Stop:
        """Go one level down into the node at the position; at the op level, move to the following op.

        A level whose node covers the same steps as its parent (embed, logits) is skipped, so
        each `step` shows something new.
        """
        stop = Stop(moved=False)
        for _ in range(count):
            if self.level < OP:
                parent = self.node
                self.level += 1
                while self.level < OP and self.node.start == parent.start and self.node.stop == parent.stop:
                    self.level += 1
                stop = Stop()
            else:
                if self.position == self.last:
                    return Stop(moved=stop.moved, edge="end")
                stop = self._move_to(self.position + 1, OP, None)
                if stop.breakpoint:
                    return stop
        return stop

    def finish(self) -> Stop:
        """Leave the node that contains the current one: move to the node after it, one level up."""
        if self.level == UNIT:
            raise DebuggerError(
                "already at the unit level, the outermost: use next to move to the following unit",
                key="step.error.outermost",
            )
        container = self.hierarchy.node_at(self.level - 1, self.position)
        if container.stop > self.last:
            self.level -= 1
            self.position = container.start
            return Stop(edge="end")
        return self._move_to(container.stop, self.level - 1, None)

    def up(self) -> Stop:
        """View the enclosing node: one level up, at its first step."""
        if self.level == UNIT:
            raise DebuggerError("already at the unit level, the outermost: use step to go down a level", key="step.error.outermost_up")
        self.level -= 1
        self.position = self.node.start
        return Stop()

    def goto(self, target: str) -> Stop:
        """Go to a step number or a site name (optionally `SITE@PASS`), at the op level."""
        self.position = self.resolve_step(target).index
        self.level = OP
        return Stop()

    def continue_(self, backward: bool = False) -> Stop:
        """Run forward (or backward) to the next step where a breakpoint triggers, at the op level.

        Without one, the position ends at the last (or first) step and `edge` is set.
        """
        if not self.breakpoints:
            raise DebuggerError(
                "no breakpoints are set: set one with break SITE [if CONDITION], such as break layers.*.attn.scores if max > 30",
                key="step.error.no_breakpoints",
            )
        indices = range(self.position - 1, -1, -1) if backward else range(self.position + 1, self.last + 1)
        for index in indices:
            hit = self._breakpoint_at(index)
            if hit:
                self.position, self.level = index, OP
                return Stop(breakpoint=hit)
        self.position, self.level = (0 if backward else self.last), OP
        return Stop(edge="start" if backward else "end")

    def _move_to(self, index: int, level: int, edge: str | None) -> Stop:
        # Stop early at a breakpoint on a step strictly between the old and the new position.
        between = range(self.position + 1, index) if index > self.position else range(self.position - 1, index, -1)
        for passed in between:
            hit = self._breakpoint_at(passed)
            if hit:
                self.position, self.level = passed, OP
                return Stop(breakpoint=hit)
        moved = index != self.position or level != self.level
        self.position, self.level = index, level
        return Stop(moved=moved, edge=edge)

    def _breakpoint_at(self, index: int) -> Breakpoint | None:
        step = self.trace.steps[index]
        for breakpoint in self.breakpoints:
            if breakpoint.triggers(step):
                breakpoint.hits += 1
                return breakpoint
        return None

    # --- look-ups ------------------------------------------------------------------------

    def resolve_step(self, target: str) -> Step:
        """Return the step named by a step number, a site (in the current pass) or `SITE@PASS`."""
        target = target.strip()
        if target.lstrip("-").isdigit():
            index = int(target)
            if not 0 <= index <= self.last:
                raise DebuggerError(
                    f"step {index} does not exist: the trace has steps 0 to {self.last}",
                    key="step.error.step_range",
                    index=index,
                    last=self.last,
                )
            return self.trace.steps[index]
        site, pass_index = split_pass(target, self.step.pass_index)
        if site in self.trace:
            return self.trace.step(site, pass_index)
        raise DebuggerError(
            f"site {site!r} is not in this trace{suggest(site, self.trace.sites())}: list the sites with info sites",
            key="step.error.unknown_site",
            site=site,
        )

    # --- breakpoints and watches -----------------------------------------------------------

    def add_breakpoint(self, pattern: str, condition: Condition | None = None) -> Breakpoint:
        """Add a breakpoint; raises DebuggerError when the pattern selects no step of the trace."""
        probe = Breakpoint(0, pattern, condition)
        if not any(probe.matches(step) for step in self.trace.steps):
            raise DebuggerError(
                f"no step matches {pattern!r}{suggest(pattern, self.trace.sites())}: give a site, a glob "
                f"such as layers.*.attn.scores, or a step number from 0 to {self.last}",
                key="step.error.no_match",
                pattern=pattern,
                last=self.last,
            )
        probe.number = self._next_breakpoint
        self._next_breakpoint += 1
        self.breakpoints.append(probe)
        return probe

    def delete_breakpoint(self, number: int | None) -> list[Breakpoint]:
        """Delete breakpoint `number`, or all of them for None; returns what was deleted."""
        missing = DebuggerError(
            f"no breakpoint number {number}: list them with info breakpoints",
            key="step.error.no_breakpoint",
            number=number,
        )
        return remove_numbered(self.breakpoints, number, missing)

    def add_watch(self, pattern: str, stat: str | None) -> Watch:
        """Add a watch; raises DebuggerError when the pattern selects no site of the trace."""
        if not any(matches(site, pattern) for site in self.trace.sites()):
            raise DebuggerError(
                f"no site matches {pattern!r}{suggest(pattern, self.trace.sites())}: give a site or a glob such as layers.*.resid_post",
                key="step.error.watch_no_match",
                pattern=pattern,
            )
        watch = Watch(self._next_watch, pattern, stat)
        self._next_watch += 1
        self.watches.append(watch)
        return watch

    def delete_watch(self, number: int | None) -> list[Watch]:
        """Delete watch `number`, or all of them for None; returns what was deleted."""
        missing = DebuggerError(
            f"no watch number {number}: list them with info watches",
            key="step.error.no_watch",
            number=number,
        )
        return remove_numbered(self.watches, number, missing)

    def watched_step(self, watch: Watch) -> Step | None:
        """Return the latest step at or before the position whose site matches the watch, or None."""
        for index in range(self.position, -1, -1):
            step = self.trace.steps[index]
            if matches(step.site, watch.pattern):
                return step
        return None


def split_pass(target: str, default_pass: int) -> tuple[str, int]:
    """Split `SITE@PASS` into (SITE, PASS); without `@` the pass is `default_pass`."""
    if "@" not in target:
        return target, default_pass
    site, _, number = target.rpartition("@")
    if not number.isdigit():
        raise DebuggerError(
            f"invalid pass {number!r} in {target!r}: write SITE@PASS with a pass number, such as logits@1",
            key="step.error.bad_pass",
            target=target,
            number=number,
        )
    return site, int(number)
