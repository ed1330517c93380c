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
    folder is reused when it was made from the same prompt, weights, config, tokenizer file
    and trace schema.
    """

    def make(folder: Path, previous: dict) -> tuple[Path, dict]:
        from scenes.inputs import load_model_and_tokenizer
        from tracer import SCHEMA_VERSION, save_trace, trace_prompt
        from tracer.fingerprint import weights_sha256

        from .model_input import model_options

        # The same loader as model_identity's, so the parent reads the checkpoint once.
        model, tokenizer = load_model_and_tokenizer(**model_options(model_args))
        identity = input_key({"prompt": prompt, "weights": weights_sha256(model), "config": model.config.to_dict(),
                              "tokenizer": file_sha256(Path(tokenizer.path)), "schema": SCHEMA_VERSION})
        path = folder / TRACE_NAME
        if previous.get("identity") == identity and path.is_file() and file_sha256(path) == previous.get("sha256"):
            logger.info("%s", t("lecture.trace_reused", prompt=prompt, path=str(path)))
            return path, previous

        sys.stderr.write(t("lecture.tracing", prompt=prompt) + "\n")
        save_trace(trace_prompt(model, tokenizer, prompt), path)
        return path, {"prompt": prompt, "identity": identity, "file": TRACE_NAME, "sha256": file_sha256(path)}

    return make
