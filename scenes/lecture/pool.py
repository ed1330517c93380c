"""Run render jobs in worker processes, a fixed number at a time, and stop them all on interrupt.

Each job gets a fresh process because manim's config is global to a process. Processes come
from a fork server that has already imported manim and the scene source, so a job does not
pay the import time again.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import queue as queue_module
import signal
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable

from . import worker
from .interrupts import deferred_interrupts

logger = logging.getLogger(__name__)

# How long a stopped worker gets to exit after SIGTERM before it is killed.
_TERMINATE_GRACE_S = 5.0


@dataclass
class JobOutcome:
    """A finished job: `result` from the worker's result.json, or `error` with its traceback."""

    job: dict
    result: dict | None = None
    error: str | None = None


def run_jobs(
    jobs: list[dict],
    max_workers: int,
    preload: list[str],
    on_progress: Callable[[str, float], None],
    on_finished: Callable[[JobOutcome], None],
) -> None:
    """Run `jobs` (dicts for `worker.run_job`) with at most `max_workers` processes at once.

    `on_progress(scene, seconds)` and `on_finished(outcome)` run in this process. On any
    exception here, KeyboardInterrupt included, the running workers are stopped before it
    propagates; their staging folders are left for the caller to remove.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["scenes.lecture.worker", *preload])
    progress = context.Queue()
    pending = deque(jobs)
    running: dict[int, tuple[multiprocessing.Process, dict]] = {}

    def drain() -> None:
        while True:
            try:
                scene, seconds = progress.get_nowait()
            except queue_module.Empty:
                return
            on_progress(scene, seconds)

    try:
        while pending or running:
            while pending and len(running) < max_workers:
                job = pending.popleft()
                Path(job["staging"]).mkdir(parents=True, exist_ok=True)
                process = context.Process(target=worker.run_job, args=(job, progress), name=f"render-{job['scene']}", daemon=True)
                # An interrupt between the start and the bookkeeping would leave a worker that
                # no clean-up stops.
                with deferred_interrupts():
                    process.start()
                    running[process.sentinel] = (process, job)
                logger.info("started %s in process %d", job["scene"], process.pid)

            finished = wait(list(running), timeout=0.25)
            drain()
            for sentinel in finished:
                process, job = running.pop(sentinel)
                process.join()
                drain()
                on_finished(_outcome(job, process.exitcode))
    finally:
        # A second Ctrl-C must not leave workers running while their folders are deleted.
        with deferred_interrupts():
            _stop(process for process, _ in running.values())
            progress.close()
            progress.cancel_join_thread()


def _outcome(job: dict, exitcode: int | None) -> JobOutcome:
    staging = Path(job["staging"])
    result_path = staging / worker.RESULT_FILE
    if exitcode == 0 and result_path.is_file():
        return JobOutcome(job, result=json.loads(result_path.read_text(encoding="utf-8")))
    error_path = staging / worker.ERROR_FILE
    if error_path.is_file():
        return JobOutcome(job, error=error_path.read_text(encoding="utf-8"))
    return JobOutcome(job, error=f"the worker process exited with status {exitcode}")


def _stop(processes) -> None:
    """Stop workers and everything they started (LaTeX runs), so nothing writes after this returns."""
    processes = list(processes)
    for process in processes:
        if not _signal_group(process.pid, signal.SIGTERM) and process.is_alive():
            # The worker has not made its own group yet, so it has started nothing.
            process.terminate()
    for process in processes:
        process.join(_TERMINATE_GRACE_S)
        if process.is_alive():
            logger.warning("render process %d did not stop after SIGTERM; killing it", process.pid)
            process.kill()
            process.join()
        # LaTeX runs outlive a killed worker; its group id stays reserved while they run.
        _signal_group(process.pid, signal.SIGKILL)


def _signal_group(group: int, signum: int) -> bool:
    """Send `signum` to process group `group`; return False when no such group exists."""
    try:
        os.killpg(group, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True
