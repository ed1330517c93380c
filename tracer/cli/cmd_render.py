"""`mmtrace render`: render a scene of a trace as a video clip or a still, with a JSON sidecar."""

from __future__ import annotations

import argparse
from pathlib import Path

from minimind.errors import MiniMindError

from ..i18n import get_lang, t
from .common import add_model_options


def add_parser(subparsers) -> argparse.ArgumentParser:
    from scenes.render import FORMATS, QUALITIES

    parser = subparsers.add_parser("render", help=t("render.help"), description=t("render.description"))
    parser.add_argument("scene", nargs="?", help=t("render.scene"))
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--trace", type=Path, help=t("render.trace"))
    source.add_argument("--prompt", help=t("render.prompt"))
    source.add_argument("--from-sidecar", type=Path, metavar="JSON", help=t("render.from_sidecar"))
    add_model_options(parser)
    parser.add_argument("--layer", type=int, help=t("render.layer"))
    parser.add_argument("--head", type=int, help=t("render.head"))
    parser.add_argument("--token", type=int, help=t("render.token"))
    parser.add_argument("--quality", choices=tuple(QUALITIES), default="720p", help=t("render.quality"))
    parser.add_argument("--fps", type=int, help=t("render.fps"))
    parser.add_argument("--format", choices=FORMATS, default="mp4", help=t("render.format"))
    parser.add_argument("-o", "--output", help=t("render.output"))
    parser.add_argument("--sections", action="store_true", help=t("render.sections"))
    parser.add_argument("--no-progress", action="store_true", help=t("render.no_progress"))
    return parser


def run(args: argparse.Namespace) -> int:
    from scenes.render import RenderOptions, render_from_sidecar, render_scene

    if args.from_sidecar is not None:
        path = render_from_sidecar(args.from_sidecar, output=args.output, progress=not args.no_progress)
        print(t("render.wrote", path=path))
        return 0
    if not args.scene:
        raise MiniMindError(t("render.error.no_scene", lang="en"), key="render.error.no_scene")

    options = RenderOptions(
        quality=args.quality,
        fps=args.fps,
        lang=get_lang(),
        format=args.format,
        layer=args.layer,
        head=args.head,
        token=args.token,
        output=args.output,
        trace=str(args.trace) if args.trace else None,
        prompt=args.prompt,
        checkpoint=str(args.checkpoint) if args.checkpoint else None,
        tokenizer=str(args.tokenizer) if args.tokenizer else None,
        config=str(args.config) if args.config else None,
        sections=args.sections,
        progress=not args.no_progress,
    )
    path = render_scene(args.scene, None, options)
    print(t("render.wrote", path=path))
    return 0
