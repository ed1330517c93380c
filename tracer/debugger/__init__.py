"""Step through recorded traces and pause live forward passes, like a debugger.

Public API:
  StepShell                      the `mmtrace step` command set over a Trace (step_shell)
  StepSession, Breakpoint        position, levels, breakpoints and watches over a Trace (session)
  LiveDebugger, pause_at, Pause  pause a minimind model inside its forward pass and edit tensors (live)
  LiveResult                     logits without and with the edits of a LiveDebugger.run
  parse_condition                breakpoint conditions such as "max > 30 and not nan" (conditions)
See docs/debugger.md for the commands.
"""

from .conditions import Condition, parse_condition
from .errors import DebuggerError
from .live import LiveDebugger, LiveResult, Pause, pause_at
from .session import Breakpoint, StepSession
from .step_shell import StepShell

__all__ = [
    "Breakpoint",
    "Condition",
    "DebuggerError",
    "LiveDebugger",
    "LiveResult",
    "Pause",
    "StepSession",
    "StepShell",
    "parse_condition",
    "pause_at",
]
