"""`mmtrace lecture`: render a whole lecture into one folder, ready to present from index.html."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from minimind.errors import MiniMindError

from ..i18n import get_lang, t
from .common import add_model_options

logger = logging.getLogger(__name__)


def default_jobs() -> int:
    """Return the number of CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def add_parser(subparsers) -> argparse.ArgumentParser:
    from scenes.lecture.registry_source import DEFAULT_QUALITY, quality_names

    parser = subparsers.add_parser("lecture", help=t("lecture.help"), description=t("lecture.help"))
    trace = parser.add_mutually_exclusive_group()
    trace.add_argument("--prompt", help=t("lecture.prompt"))
    trace.add_argument("--trace", type=Path, metavar="FILE", help=t("lecture.trace"))
    add_model_options(parser)
    parser.add_argument("--scenes", metavar="LIST", help=t("lecture.scenes"))
    qualities = quality_names()
    parser.add_argument("--quality", choices=qualities, default=DEFAULT_QUALITY, help=t("lecture.quality", choices=", ".join(qualities), default=DEFAULT_QUALITY))
    parser.add_argument("--jobs", type=int, metavar="N", help=t("lecture.jobs", default=default_jobs()))
    parser.add_argument("--force", action="store_true", help=t("lecture.force"))
    parser.add_argument("-o", "--output", type=Path, metavar="DIR", help=t("lecture.output", default="renders/lecture-LANG"))
    return parser


def run(args: argparse.Namespace) -> int:
    from scenes.inputs import DEFAULT_PROMPTS
    from scenes.lecture.build import DEFAULT_SOURCE, LectureRequest, build_lecture
    from scenes.lecture.model_input import model_identity, model_options
    from scenes.lecture.trace_input import prompt_trace_maker

    lang = get_lang()
    jobs = default_jobs() if args.jobs is None else args.jobs
    if jobs < 1:
        raise MiniMindError(f"--jobs must be at least 1, got {jobs}", key="lecture.error.jobs", jobs=jobs)
    scene_ids = [part.strip() for part in args.scenes.split(",") if part.strip()] if args.scenes else None
    out = args.output or Path("renders") / f"lecture-{lang}"

    make_trace = None
    if args.trace is not None:
        _check_trace(args.trace)
    else:
        # Checked before the folder is made; only a missing --prompt means the default one.
        if args.prompt is not None and not args.prompt.strip():
            raise MiniMindError("the prompt is empty: pass some text with --prompt", key="error.empty_prompt")
        make_trace = prompt_trace_maker(args.prompt if args.prompt is not None else DEFAULT_PROMPTS[lang], args)
    # Loaded here once, so a bad model file is one error before any clip starts.
    models = model_options(args)
    identity = model_identity(models)

    request = LectureRequest(
        out_dir=out,
        trace=args.trace,
        make_trace=make_trace,
        scene_ids=scene_ids,
        quality=args.quality,
        lang=lang,
        jobs=jobs,
        force=args.force,
        source=DEFAULT_SOURCE,
        model_options=models,
        model_identity=identity,
    )
    report = build_lecture(request)

    for scene, error in report.failed.items():
        last_line = error.strip().splitlines()[-1] if error.strip() else ""
        sys.stderr.write(t("lecture.failed", scene=scene, message=last_line) + "\n")
        logger.info("%s", error)
    print(t("lecture.summary", rendered=len(report.rendered), reused=len(report.reused), seconds=report.seconds, index=str(report.index)))
    if report.failed:
        total = len(report.failed) + len(report.rendered) + len(report.reused)
        sys.stderr.write(t("cli.error", message=t("lecture.error.failed", count=len(report.failed), total=total)) + "\n")
        return 1
    return 0


def _check_trace(path: Path) -> None:
    """Open the trace once here, so a bad file is one error instead of one per worker."""
    if not path.is_file():
        raise MiniMindError(
            f"trace file not found: {path}: pass an existing .mmtrace file with --trace",
            key="lecture.error.trace_missing",
            path=str(path),
        )
    from tracer import open_trace

    open_trace(path)
