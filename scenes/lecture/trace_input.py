"""The lecture's trace when it is given as a prompt: traced once, kept in the folder, reused.

Keeping the trace beside the clips makes the folder self-contained (`mmtrace step` and
`mmtrace render` can open it), and reusing it keeps the clips' input keys stable.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tracer.i18n import t

from .manifest import file_sha256, input_key

TRACE_NAME = "trace.mmtrace"

logger = logging.getLogger(__name__)


def prompt_trace_maker(prompt: str, model_args: argparse.Namespace):
    """Return a `make_trace` for LectureRequest that traces `prompt` on the model of `model_args`.

    `model_args` carries --checkpoint, --tokenizer and --config. The trace already in the
    folder is reused when it was made from the same prompt, weights and trace schema.
    """

    def make(folder: Path, previous: dict) -> tuple[Path, dict]:
        from tracer import SCHEMA_VERSION, save_trace, trace_prompt
        from tracer.cli.common import load_model_and_tokenizer
        from tracer.fingerprint import weights_sha256

        model, tokenizer = load_model_and_tokenizer(model_args)
        identity = input_key({"prompt": prompt, "weights": weights_sha256(model), "schema": SCHEMA_VERSION})
        path = folder / TRACE_NAME
        if previous.get("identity") == identity and path.is_file() and file_sha256(path) == previous.get("sha256"):
            logger.info("%s", t("lecture.trace_reused", prompt=prompt, path=str(path)))
            return path, previous

        sys.stderr.write(t("lecture.tracing", prompt=prompt) + "\n")
        save_trace(trace_prompt(model, tokenizer, prompt), path)
        return path, {"prompt": prompt, "identity": identity, "file": TRACE_NAME, "sha256": file_sha256(path)}

    return make
