"""`StepShell`: the command set of `mmtrace step`, over a recorded trace."""

from __future__ import annotations

from ..i18n import t, tn
from ..sites import matches
from ..trace import Trace
from .commands import COMPLETE_INFO, COMPLETE_SITE, Command, Shell, parse_count, parse_int, split_words
from .conditions import STAT_NAMES, parse_condition, stat_value
from .errors import DebuggerError
from .inspect import Entry, TensorCommands
from .navigation import LEVEL_NAMES, OP, SUBLAYER, UNIT, Node, op_name
from .session import Breakpoint, StepSession, Stop, Watch
from .text import Style
from .views import format_number, format_shape, short_stats, stats_line, table

INFO_TOPICS = ("breakpoints", "watches", "sites", "trace")
LIST_RADIUS = 5  # nodes shown on each side of the position by `list`


class TraceSource:
    """The recorded trace as the tensor commands read it: the session's step is the current site."""

    def __init__(self, session: StepSession):
        self.session = session
        self.trace = session.trace

    def entry(self, target: str | None) -> Entry:
        step = self.session.step if target is None else self.session.resolve_step(target)
        return Entry(
            step.site,
            step.pass_index,
            step.shape,
            step.dims,
            step.dtype,
            step.stats,
            lambda: self.trace.tensor(step.site, step.pass_index),
            derived=step.derived,
        )

    def labels(self, batch: int) -> list[str]:
        return list(self._row(self.trace.tokens.labels, batch))

    def ids(self, batch: int) -> list[int]:
        return list(self._row(self.trace.tokens.ids, batch))

    def _row(self, rows, batch: int):
        if not 0 <= batch < len(rows):
            raise DebuggerError(
                f"batch {batch} does not exist: the trace has batch rows 0 to {len(rows) - 1}",
                key="debug.error.out_of_range",
                what="batch",
                value=batch,
                last=len(rows) - 1,
            )
        return rows[batch]

    def pass_span(self, pass_index: int) -> tuple[int, int]:
        info = self.trace.passes[pass_index]
        return info.start, info.length

    def current_layer(self) -> int:
        step = self.session.step
        if step.layer is not None:
            return step.layer
        layers = [s.layer for s in self.trace.steps if s.layer is not None]
        if not layers:
            raise DebuggerError("the trace has no block sites: record the layers.* sites", key="step.error.no_layers")
        return min(layers) if step.site == "embed" else max(layers)

    def multi_pass(self) -> bool:
        return len(self.trace.passes) > 1


class StepShell(Shell):
    """Step through a recorded trace like a debugger; see docs/debugger.md for the commands."""

    def __init__(self, trace: Trace, stdout=None, stderr=None, style: Style | None = None, width: int = 100):
        super().__init__(stdout, stderr, style, width)
        self.trace = trace
        self.session = StepSession(trace)
        self.source = TraceSource(self.session)
        add = self.add
        add(Command("next", self.do_next, "next [N]", "step.cmd.next", ("n",)))
        add(Command("prev", self.do_prev, "prev [N]", "step.cmd.prev", ("previous",)))
        add(Command("step", self.do_step, "step [N]", "step.cmd.step", ("s",)))
        add(Command("finish", self.do_finish, "finish", "step.cmd.finish", ("f", "out")))
        add(Command("up", self.do_up, "up", "step.cmd.up", ("u",)))
        add(Command("goto", self.do_goto, "goto SITE|STEP", "step.cmd.goto", ("g", "jump"), COMPLETE_SITE))
        add(Command("continue", self.do_continue, "continue", "step.cmd.continue", ("c", "cont")))
        add(Command("reverse-continue", self.do_reverse_continue, "reverse-continue", "step.cmd.reverse_continue", ("rc",)))
        add(Command("where", self.do_where, "where", "step.cmd.where", ("w", "bt")))
        add(Command("list", self.do_list, "list [N]", "step.cmd.list", ("l",)))
        add(Command("break", self.do_break, "break [SITE|GLOB|STEP] [if CONDITION]", "step.cmd.break", ("b",), COMPLETE_SITE))
        add(Command("delete", self.do_delete, "delete [N]", "step.cmd.delete", ("d",)))
        add(Command("watch", self.do_watch, "watch SITE|GLOB [STAT]", "step.cmd.watch", (), COMPLETE_SITE))
        add(Command("unwatch", self.do_unwatch, "unwatch [N]", "step.cmd.unwatch"))
        TensorCommands(self, self.source)
        add(Command("info", self.do_info, "info breakpoints|watches|sites [GLOB]|trace", "step.cmd.info", ("i",), COMPLETE_INFO))
        add(Command("quit", self.do_quit, "quit", "step.cmd.quit", ("q", "exit")))

    # --- session start -------------------------------------------------------------------

    def banner(self) -> list[str]:
        trace = self.trace
        name = trace.path or t("step.in_memory")
        return [
            tn("step.banner", len(trace.passes), path=name, steps=len(trace.steps), tokens=len(trace.tokens), passes=len(trace.passes), mode=trace.mode),
            t("step.banner_help"),
        ]

    def start(self) -> None:
        """Print the banner and the first stop."""
        self.write_lines(self.banner())
        self.show_stop(Stop())

    # --- moves ---------------------------------------------------------------------------

    def do_next(self, args: str) -> None:
        self.show_stop(self.session.next(parse_count(args, "next")))

    def do_prev(self, args: str) -> None:
        self.show_stop(self.session.prev(parse_count(args, "prev")))

    def do_step(self, args: str) -> None:
        self.show_stop(self.session.step_into(parse_count(args, "step")))

    def do_finish(self, args: str) -> None:
        self._no_arguments("finish", args)
        self.show_stop(self.session.finish())

    def do_up(self, args: str) -> None:
        self._no_arguments("up", args)
        self.show_stop(self.session.up())

    def do_goto(self, args: str) -> None:
        if not args:
            raise DebuggerError("goto needs a site or a step number, such as goto layers.2.attn.probs or goto 40", key="step.error.goto_target")
        self.show_stop(self.session.goto(args))

    def do_continue(self, args: str) -> None:
        self._no_arguments("continue", args)
        self.show_stop(self.session.continue_())

    def do_reverse_continue(self, args: str) -> None:
        self._no_arguments("reverse-continue", args)
        self.show_stop(self.session.continue_(backward=True))

    def do_where(self, args: str) -> None:
        self._no_arguments("where", args)
        self.write(self._location())

    def do_list(self, args: str) -> None:
        radius = parse_count(args, "list") if args else LIST_RADIUS
        session = self.session
        nodes = session.hierarchy.levels[session.level]
        number = session.hierarchy.node_number(session.level, session.position)
        rows = []
        for node in nodes[max(number - radius, 0) : number + radius + 1]:
            marker = self.style.marker("▶") if node.start == session.node.start else " "
            rows.append([marker, _step_range(node), self._node_path(node), short_stats(self.trace.steps[node.stop - 1].stats)])
        self.write_lines(table(rows, ("left", "right", "left", "left")))

    # --- breakpoints and watches ---------------------------------------------------------------

    def do_break(self, args: str) -> None:
        pattern, condition_text = _split_condition(args)
        if not pattern:
            pattern = self.session.step.site
        condition = parse_condition(condition_text) if condition_text is not None else None
        breakpoint = self.session.add_breakpoint(pattern, condition)
        count = sum(1 for step in self.trace.steps if breakpoint.matches(step))
        self.write(tn("step.break_set", count, number=breakpoint.number, description=_describe(breakpoint), count=count))

    def do_delete(self, args: str) -> None:
        number = parse_int(args, "breakpoint number") if args else None
        deleted = self.session.delete_breakpoint(number)
        self.write(t("step.deleted", numbers=", ".join(str(b.number) for b in deleted) or "-"))

    def do_watch(self, args: str) -> None:
        words = split_words(args)
        if not words or len(words) > 2:
            raise DebuggerError(
                "watch needs a site or glob and optionally a statistic, such as watch layers.*.resid_post rms",
                key="step.error.watch_usage",
            )
        pattern, stat = words[0], (words[1].lower() if len(words) == 2 else None)
        if stat is None and not any(matches(site, pattern) for site in self.trace.sites()):
            base, _, last = pattern.rpartition(".")
            if last in STAT_NAMES and base:
                pattern, stat = base, last
        if stat is not None and stat not in STAT_NAMES:
            raise DebuggerError(
                f"{stat!r} is not a statistic: use one of {', '.join(STAT_NAMES)}",
                key="step.error.watch_stat",
                stat=stat,
                stats=", ".join(STAT_NAMES),
            )
        watch = self.session.add_watch(pattern, stat)
        self.write(t("step.watch_set", number=watch.number, pattern=watch.pattern, stat=watch.stat or t("step.all_stats")))
        self.write(self._watch_line(watch))

    def do_unwatch(self, args: str) -> None:
        number = parse_int(args, "watch number") if args else None
        deleted = self.session.delete_watch(number)
        self.write(t("step.unwatched", numbers=", ".join(str(w.number) for w in deleted) or "-"))

    # --- info ----------------------------------------------------------------------------

    def info_topics(self) -> list[str]:
        return list(INFO_TOPICS)

    def do_info(self, args: str) -> None:
        words = split_words(args)
        topics = [topic for topic in INFO_TOPICS if words and topic.startswith(words[0])]
        if len(topics) != 1:
            raise DebuggerError(
                f"info needs a topic: {', '.join(INFO_TOPICS)}",
                key="step.error.info_topic",
                topics=", ".join(INFO_TOPICS),
            )
        topic = topics[0]
        if topic == "breakpoints":
            self._info_breakpoints()
        elif topic == "watches":
            self._info_watches()
        elif topic == "sites":
            self._info_sites(words[1] if len(words) > 1 else None)
        else:
            self._info_trace()

    def _info_breakpoints(self) -> None:
        if not self.session.breakpoints:
            self.write(t("step.no_breakpoints"))
            return
        rows = [["#", t("step.col.where"), t("step.col.condition"), t("step.col.hits")]]
        for b in self.session.breakpoints:
            rows.append([str(b.number), b.pattern, str(b.condition) if b.condition else "-", str(b.hits)])
        self.write_lines(table(rows, ("right", "left", "left", "right")))

    def _info_watches(self) -> None:
        if not self.session.watches:
            self.write(t("step.no_watches"))
            return
        self.write_lines(self._watch_line(watch) for watch in self.session.watches)

    def _info_sites(self, pattern: str | None) -> None:
        pass_index = self.session.step.pass_index
        steps = [s for s in self.trace.steps if s.pass_index == pass_index and (pattern is None or matches(s.site, pattern))]
        if not steps:
            raise DebuggerError(f"no site matches {pattern!r}: try a glob such as layers.*.attn.*", key="step.error.watch_no_match", pattern=pattern)
        rows = [[str(s.index), s.site, format_shape(s.shape), " × ".join(s.dims)] for s in steps]
        self.write_lines(table(rows, ("right", "left", "left", "left")))

    def _info_trace(self) -> None:
        trace = self.trace
        config = trace.config
        rows = [
            [t("step.info.path"), str(trace.path or t("step.in_memory"))],
            [t("step.info.mode"), trace.mode + (f" ({trace.info.storage_dtype})" if trace.info.storage_dtype else "")],
            [t("step.info.steps"), str(len(trace.steps))],
            [t("step.info.passes"), str(len(trace.passes))],
            [t("step.info.tokens"), str(len(trace.tokens))],
            [t("step.info.prompt"), trace.prompt if trace.prompt is not None else "-"],
            [t("step.info.model"), t("step.info.model_value", layers=config.get("num_hidden_layers", "?"), hidden=config.get("hidden_size", "?"), heads=config.get("num_attention_heads", "?"), version=config.get("minimind_version", "?"))],
        ]
        self.write_lines(table(rows))
        for warning in trace.warnings:
            self.write(self.style.warn(t("step.info.warning", warning=warning)))

    def do_quit(self, args: str) -> bool:
        return True

    # --- what a stop shows -----------------------------------------------------------------

    def show_stop(self, stop: Stop) -> None:
        """Print why the move stopped, the position, the node's contents and the watches."""
        if stop.breakpoint is not None:
            self.write(self.style.marker(t("step.hit", number=stop.breakpoint.number, description=_describe(stop.breakpoint))))
        if stop.edge == "end":
            self.write(self.style.warn(t("step.at_end")))
        elif stop.edge == "start":
            self.write(self.style.warn(t("step.at_start")))
        self.write(self._location())

        session = self.session
        node = session.node
        if session.level == OP:
            step = session.step
            self.write(f"  {format_shape(step.shape)}  {' × '.join(step.dims)}  {step.dtype}")
            self.write("  " + stats_line(step.stats, self.style))
        else:
            rows = []
            for child in session.hierarchy.children(node):
                last = self.trace.steps[child.stop - 1]
                rows.append(["  " + self._child_name(child), _step_range(child), format_shape(last.shape), short_stats(last.stats)])
            self.write_lines(table(rows, ("left", "right", "left", "left")))
        for watch in session.watches:
            self.write(self._watch_line(watch))

    def _location(self) -> str:
        session = self.session
        step = session.step
        path = self._node_path(session.node)
        level = t(f"step.level.{LEVEL_NAMES[session.level]}")
        where = t("step.location", index=step.index, last=session.last, path=self.style.site(path), level=level)
        if len(self.trace.passes) > 1:
            where += "  " + t("step.pass", number=step.pass_index)
        if step.derived:
            where += "  " + t("step.derived_mark")
        return self.style.marker("▶ ") + where

    def _node_path(self, node: Node) -> str:
        """Return `layers.0 > attn > probs` for a node: its unit, sublayer and op, without repeats."""
        hierarchy = self.session.hierarchy
        parts = [hierarchy.node_at(UNIT, node.start).name]
        if node.level >= SUBLAYER:
            parts.append(hierarchy.node_at(SUBLAYER, node.start).name)
        if node.level == OP:
            parts.append(self._child_name(node))
        unique = [part for k, part in enumerate(parts) if k == 0 or part != parts[k - 1]]
        return " > ".join(unique)

    def _child_name(self, node: Node) -> str:
        if node.level < OP:
            return node.name
        step = self.trace.steps[node.start]
        name = op_name(step)
        sublayer = self.session.hierarchy.node_at(SUBLAYER, node.start).name
        prefix = sublayer + "."
        return name[len(prefix):] if name.startswith(prefix) else name

    def _watch_line(self, watch: Watch) -> str:
        step = self.session.watched_step(watch)
        label = f"{watch.number}: {watch.pattern}" + (f" {watch.stat}" if watch.stat else "")
        if step is None:
            return "  " + t("step.watch_pending", label=label)
        if watch.stat:
            value = format_number(stat_value(step.stats, watch.stat))
        else:
            value = stats_line(step.stats, self.style)
        return "  " + t("step.watch_value", label=label, value=value, site=step.site, index=step.index)

    def _no_arguments(self, name: str, args: str) -> None:
        if args:
            raise DebuggerError(f"{name} takes no arguments, got {args!r}", key="step.error.no_arguments", command=name, args=args)

    def site_names(self) -> list[str]:
        return self.trace.sites()


def _split_condition(args: str) -> tuple[str, str | None]:
    """Split `PATTERN if CONDITION`; either side may be empty."""
    words = args.split()
    if "if" in words:
        at = words.index("if")
        return " ".join(words[:at]), " ".join(words[at + 1 :])
    return args.strip(), None


def _describe(breakpoint: Breakpoint) -> str:
    return breakpoint.pattern + (f" if {breakpoint.condition}" if breakpoint.condition else "")


def _step_range(node: Node) -> str:
    return str(node.start) if node.size == 1 else f"{node.start}-{node.stop - 1}"
