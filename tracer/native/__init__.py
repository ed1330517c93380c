"""The optional compiled helper: one-pass statistics of a float32 tensor.

`stats.c` is built into `_stats.so` beside it by `python -m tracer.native` (set-up runs
this). When the library is missing, out of date or cannot load, `fused_stats_f32` returns
None and `tracer.stats` uses torch's reductions, which give the same statistics more
slowly. Setting MMTRACE_NATIVE=0 turns the library off, for comparing the two paths.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path

import torch

logger = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("stats.c")
LIBRARY = Path(__file__).with_name("_stats.so")

_state: dict[str, object] = {}
_Results = ctypes.c_double * 5  # what the C function writes: shift, two sums, min, max


class BuildError(RuntimeError):
    """The C compiler is missing or failed."""


def compiler() -> str | None:
    """Return the C compiler to use: $CC, else Python's configured one, else cc or gcc on PATH."""
    for candidate in (os.environ.get("CC"), (sysconfig.get_config_var("CC") or "").split(" ")[0], "cc", "gcc"):
        if candidate and shutil.which(candidate):
            return candidate
    return None


def build(target: Path | None = None) -> Path:
    """Compile stats.c into `target` (default LIBRARY), written atomically; raise BuildError when that fails."""
    target = target or LIBRARY
    cc = compiler()
    if cc is None:
        raise BuildError("no C compiler found (install gcc, or set CC)")
    fd, temporary = tempfile.mkstemp(prefix=".stats-", suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        command = [cc, "-O3", "-fPIC", "-shared", "-fno-math-errno", str(SOURCE), "-o", temporary]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or ["no output"])[0]
            raise BuildError(f"{cc} failed on {SOURCE.name}: {first}")
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    _state.clear()
    return target


def up_to_date(library: Path | None = None) -> bool:
    """True when the library (default LIBRARY) exists and is newer than its source."""
    library = library or LIBRARY
    return library.is_file() and library.stat().st_mtime >= SOURCE.stat().st_mtime


def _function():
    if "function" in _state:
        return _state["function"]
    function = None
    if os.environ.get("MMTRACE_NATIVE", "1") != "0" and up_to_date():
        try:
            function = ctypes.CDLL(str(LIBRARY)).mmtrace_stats_f32
            function.argtypes = (ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p)
            function.restype = None
        except (OSError, AttributeError) as error:
            logger.debug("not using %s: %s", LIBRARY, error)
            function = None
    _state["function"] = function
    return function


def available() -> bool:
    """True when the compiled helper is in use."""
    return _function() is not None


def fused_stats_f32(x: torch.Tensor) -> tuple[float, float, float, float, float] | None:
    """Return (shift, sum of x - shift, sum of (x - shift)^2, min, max) of a dense float32 CPU tensor, or None.

    The shift is the mean of the first 1024 elements, which keeps the variance free of
    cancellation when the mean is large against the spread. None means the helper is off or `x` is not a contiguous float32 CPU tensor; the caller
    then computes the statistics with torch. A non-finite sum means NaN or Inf are present.
    """
    function = _function()
    if function is None or x.dtype != torch.float32 or not x.is_cpu or not _dense(x):
        return None
    out = _Results()
    function(x.data_ptr(), x.numel(), out)
    return out[0], out[1], out[2], out[3], out[4]


def _dense(x: torch.Tensor) -> bool:
    """True when x's elements fill numel adjacent slots from data_ptr(), in any order.

    The statistics ignore element order, so a transposed tensor (attention's per-head
    output) can be read straight from memory like a contiguous one.
    """
    if x.is_contiguous():
        return True
    expected = 1
    for stride, size in sorted((stride, size) for stride, size in zip(x.stride(), x.shape) if size != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def reset() -> None:
    """Forget the loaded library, so the next call reads MMTRACE_NATIVE and the file again."""
    _state.clear()
