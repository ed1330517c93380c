"""`LiveShell`: the commands available while a live forward pass is paused at a probe."""

from __future__ import annotations

import torch

from ..i18n import t
from ..sites import site_info, suggest
from ..stats import tensor_stats
from .commands import COMPLETE_INFO, COMPLETE_SITE, Command, Shell, parse_int, split_words
from .conditions import parse_condition
from .errors import DebuggerError
from .inspect import Entry, TensorCommands
from .live import LiveDebugger, Pause, split_break
from .navigation import site_path
from .slicing import split_target
from .text import Style
from .views import format_shape, stats_line, table

# Actions of the paused pass once the shell returns.
CONTINUE, NEXT, QUIT = "continue", "next", "quit"


class LiveSource:
    """The tensors computed so far in the paused pass; the paused probe's (edited) value is current."""

    def __init__(self, debugger: LiveDebugger, pause: Pause):
        self.debugger = debugger
        self.pause = pause

    def entry(self, target: str | None) -> Entry:
        pause = self.pause
        if target is None or target == pause.site:
            tensor = pause.tensor
            return Entry(pause.site, pause.pass_index, tuple(tensor.shape), pause.dims, _dtype(tensor), tensor_stats(tensor), lambda: tensor)
        if target.isdigit():
            raise DebuggerError(
                f"a live pass has no step numbers to look up: name a site computed so far, such as {pause.site}",
                key="debug.error.live_step_number",
                site=pause.site,
            )
        tensor = self.debugger.computed.get(target)
        if tensor is None:
            if target in self.debugger.probes:
                raise DebuggerError(
                    f"{target} is not computed yet in this pass: continue to it with break {target} and continue",
                    key="debug.error.not_computed",
                    site=target,
                )
            raise DebuggerError(
                f"the model has no site {target!r}{suggest(target, self.debugger.probes)}: list sites with info sites",
                key="debug.error.unknown_site",
                site=target,
            )
        dims = site_info(target, tensor.dim()).dims
        return Entry(target, pause.pass_index, tuple(tensor.shape), dims, _dtype(tensor), tensor_stats(tensor), lambda: tensor)

    def labels(self, batch: int) -> list[str]:
        self._check_batch(batch)
        return self.debugger.token_labels(batch)

    def ids(self, batch: int) -> list[int]:
        self._check_batch(batch)
        return self.debugger.token_ids(batch)

    def _check_batch(self, batch: int) -> None:
        rows = self.pause.tensor.shape[0] if self.pause.dims[:1] == ("batch",) else 1
        ids = self.debugger._ids
        rows = ids.shape[0] if ids is not None else rows
        if not 0 <= batch < rows:
            raise DebuggerError(
                f"batch {batch} does not exist: use 0 to {rows - 1}",
                key="debug.error.out_of_range",
                what="batch",
                value=batch,
                last=rows - 1,
            )

    def pass_span(self, pass_index: int) -> tuple[int, int]:
        return self.debugger.pass_span()

    def current_layer(self) -> int:
        layer = site_info(self.pause.site).layer
        if layer is not None:
            return layer
        layers = sorted({site_info(site).layer for site in self.debugger.computed} - {None})
        if not layers:
            raise DebuggerError("no block has run yet in this pass: continue to a layers.* site first", key="debug.error.no_layer_yet")
        return layers[-1]

    def multi_pass(self) -> bool:
        return False


class LiveShell(Shell):
    """Inspect and edit the tensor at a paused probe; `continue` resumes the pass with the edits."""

    prompt = "(mmtrace debug) "

    def __init__(self, debugger: LiveDebugger, pause: Pause, stdout=None, stderr=None, style: Style | None = None, width: int = 100):
        super().__init__(stdout, stderr, style, width)
        self.debugger = debugger
        self.pause = pause
        self.action = CONTINUE
        add = self.add
        add(Command("continue", self.do_continue, "continue", "debug.cmd.continue", ("c", "cont")))
        add(Command("next", self.do_next, "next", "debug.cmd.next", ("n", "step", "s")))
        add(Command("where", self.do_where, "where", "debug.cmd.where", ("w", "bt")))
        TensorCommands(self, LiveSource(debugger, pause))
        add(Command("zero", self.do_zero, "zero [head H | INDEX]", "debug.cmd.zero"))
        add(Command("scale", self.do_scale, "scale FACTOR [head H | INDEX]", "debug.cmd.scale"))
        add(Command("set", self.do_set, "set INDEX = VALUE", "debug.cmd.set"))
        add(Command("reset", self.do_reset, "reset", "debug.cmd.reset"))
        add(Command("edits", self.do_edits, "edits", "debug.cmd.edits"))
        add(Command("break", self.do_break, "break SITE|GLOB [if CONDITION]", "debug.cmd.break", ("b",), COMPLETE_SITE))
        add(Command("delete", self.do_delete, "delete [N]", "debug.cmd.delete", ("d",)))
        add(Command("info", self.do_info, "info breakpoints|sites [GLOB]", "debug.cmd.info", ("i",), COMPLETE_INFO))
        add(Command("quit", self.do_quit, "quit", "debug.cmd.quit", ("q", "exit")))

    # --- what a pause shows ----------------------------------------------------------------------

    def show_pause(self) -> None:
        pause = self.pause
        if pause.breakpoint is not None:
            self.write(self.style.marker(t("step.hit", number=pause.breakpoint.number, description=str(pause.breakpoint))))
        self.write(self._location())
        tensor = pause.tensor
        self.write(f"  {format_shape(tensor.shape)}  {' × '.join(pause.dims)}  {_dtype(tensor)}")
        self.write("  " + stats_line(pause.stats, self.style))
        if pause.display_only:
            self.write(self.style.warn("  " + t("debug.display_only")))

    def _location(self) -> str:
        pause = self.pause
        where = t("debug.location", step=pause.step, path=self.style.site(site_path(pause.site)), site=pause.site)
        if pause.pass_index:
            where += "  " + t("step.pass", number=pause.pass_index)
        return self.style.marker("▶ ") + where

    # --- resuming --------------------------------------------------------------------------------

    def do_continue(self, args: str) -> bool:
        self.action = CONTINUE
        return True

    def do_next(self, args: str) -> bool:
        self.action = NEXT
        return True

    def do_quit(self, args: str) -> bool:
        self.action = QUIT
        return True

    def do_where(self, args: str) -> None:
        self.write(self._location())

    # --- edits -----------------------------------------------------------------------------------

    def do_zero(self, args: str) -> None:
        head, index = self._target(args, "zero")
        if head is not None:
            self.pause.zero_head(head)
        else:
            self.pause.zero(index or ())
        self._after_edit()

    def do_scale(self, args: str) -> None:
        factor_text, _, rest = args.strip().partition(" ")
        try:
            factor = float(factor_text)
        except ValueError:
            raise DebuggerError(
                f"scale needs a number first, got {factor_text!r}: such as scale 0.5 or scale 0 head 2",
                key="debug.error.scale_factor",
                value=factor_text,
            ) from None
        head, index = self._target(rest, "scale")
        if head is not None:
            self.pause.scale_head(factor, head)
        else:
            self.pause.scale(factor, index or ())
        self._after_edit()

    def do_set(self, args: str) -> None:
        target, equals, value_text = args.partition("=")
        _, index_text = split_target(target)
        if not equals or index_text is None or not value_text.strip():
            raise DebuggerError(
                f"invalid set {args!r}: write set INDEX = VALUE, such as set [0, 2] = 0",
                key="debug.error.set_usage",
                args=args,
            )
        try:
            value = float(value_text)
        except ValueError:
            raise DebuggerError(
                f"invalid value {value_text.strip()!r}: give a number (nan and inf are allowed)",
                key="debug.error.set_value",
                value=value_text.strip(),
            ) from None
        self.pause.set(index_text, value)
        self._after_edit()

    def do_reset(self, args: str) -> None:
        self.pause.reset()
        self.write(t("debug.reset_done"))

    def do_edits(self, args: str) -> None:
        if not self.pause.edits:
            self.write(t("debug.no_edits_here"))
            return
        for edit in self.pause.edits:
            self.write(f"  {self.pause.site}: {edit}")

    def _target(self, args: str, command: str) -> tuple[int | None, str | None]:
        words = args.split()
        if not words:
            return None, None
        if words[0] == "head":
            if len(words) != 2:
                raise DebuggerError(f"{command} head needs one head number, such as {command} head 3", key="debug.error.head_usage", command=command)
            return parse_int(words[1], "head"), None
        if args.strip().startswith("["):
            return None, args.strip()
        raise DebuggerError(
            f"invalid arguments for {command}: {args!r}; give head H or an index such as [0, 2]",
            key="debug.error.edit_target",
            command=command,
            args=args,
        )

    def _after_edit(self) -> None:
        pause = self.pause
        self.write(t("debug.edited", site=pause.site, edit=pause.edits[-1]))
        self.write("  " + stats_line(pause.stats, self.style))
        if pause.display_only:
            self.write(self.style.warn("  " + t("debug.display_only")))

    # --- breakpoints -------------------------------------------------------------------------------

    def do_break(self, args: str) -> None:
        pattern, condition = split_break(args)
        if not pattern:
            raise DebuggerError("break needs a site or glob, such as break layers.1.attn.probs", key="debug.error.break_usage")
        breakpoint = self.debugger.add_breakpoint(pattern, parse_condition(condition) if condition is not None else None)
        self.write(t("debug.break_set", number=breakpoint.number, description=str(breakpoint)))

    def do_delete(self, args: str) -> None:
        number = parse_int(args, "breakpoint number") if args else None
        deleted = self.debugger.delete_breakpoint(number)
        self.write(t("step.deleted", numbers=", ".join(str(b.number) for b in deleted) or "-"))

    def info_topics(self) -> list[str]:
        return ["breakpoints", "sites"]

    def do_info(self, args: str) -> None:
        words = split_words(args)
        if words and "breakpoints".startswith(words[0]):
            if not self.debugger.breakpoints:
                self.write(t("step.no_breakpoints"))
                return
            rows = [["#", t("step.col.where"), t("step.col.condition"), t("step.col.hits")]]
            for b in self.debugger.breakpoints:
                rows.append([str(b.number), b.pattern, str(b.condition) if b.condition else "-", str(b.hits)])
            self.write_lines(table(rows, ("right", "left", "left", "right")))
        elif words and "sites".startswith(words[0]):
            from ..sites import matches

            pattern = words[1] if len(words) > 1 else None
            rows = []
            for site in self.debugger.probes:
                if pattern is None or matches(site, pattern):
                    state = t("debug.computed") if site in self.debugger.computed else ""
                    rows.append([site, state])
            self.write_lines(table(rows))
        else:
            raise DebuggerError("info needs a topic: breakpoints, sites", key="step.error.info_topic", topics="breakpoints, sites")

    def site_names(self) -> list[str]:
        return list(self.debugger.probes)


def _dtype(tensor: torch.Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


class ShellHandler:
    """A LiveDebugger handler that opens a LiveShell at each pause, reading from one reader.

    When the input ends (Ctrl-D, or the end of a command file) or the user types quit, the
    pass finishes without further pauses.
    """

    def __init__(self, reader, stdout=None, stderr=None, style: Style | None = None, width: int = 100):
        self.reader = reader
        self.stdout = stdout
        self.stderr = stderr
        self.style = style or Style()
        self.width = width
        self.debugger: LiveDebugger | None = None  # set by LiveDebugger users before the run
        self.errors = 0  # failed commands over all pauses

    def __call__(self, pause: Pause) -> None:
        from .repl import run_loop

        shell = LiveShell(self.debugger, pause, self.stdout, self.stderr, self.style, self.width)
        shell.show_pause()
        ended = run_loop(shell, self.reader)
        self.errors += shell.errors
        if not ended or shell.action == QUIT:
            self.debugger.running = False
        elif shell.action == NEXT:
            self.debugger.pause_next = True
