"""Trace files (.mmtrace): one safetensors file with the trace's JSON in its metadata.

Layout (docs/trace-format.md has the full schema):
  - tensors: one safetensors entry per stored tensor, keyed "p{pass}/{site}" and, for
    gradients, "p{pass}/grad/{site}"; steps that saw the same tensor share one entry;
  - `__metadata__`: {"format": "minimind-trace", "schema_version": "1", "trace": JSON text}.
No pickle is involved. Files are written to a temporary name in the target folder and
renamed into place when complete, and opened through safetensors' memory map, so reading
one site reads only that tensor's bytes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .errors import TraceError
from .trace import PassInfo, Step, Tokens, Trace, TraceInfo

FORMAT = "minimind-trace"
SCHEMA_VERSION = 1


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_trace(trace: Trace, path: str | os.PathLike) -> Path:
    """Write `trace` to `path` atomically and return the path.

    Tensors are written as stored in the trace (moved to the CPU and made contiguous).
    Raises TraceError when the folder is missing or not writable; no partial file remains.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise TraceError(
            f"output folder {folder} does not exist: create it or pass another output path",
            key="trace.error.no_folder",
            folder=str(folder),
        )
    metadata = {"format": FORMAT, "schema_version": str(SCHEMA_VERSION), "trace": json.dumps(trace_to_json(trace), ensure_ascii=False)}
    tensors = _owned_tensors(trace)

    tmp = folder / f".{path.name}.{os.getpid()}.tmp"
    try:
        save_file(tensors, str(tmp), metadata=metadata)
        # safetensors creates the file owner-only; give it the mode a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except (OSError, SafetensorError) as error:  # safetensors reports I/O failures as its own error
        raise TraceError(
            f"cannot write trace {path} ({getattr(error, 'strerror', None) or error}): pass a writable output path",
            key="trace.error.write_failed",
            path=str(path),
        ) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def open_trace(path: str | os.PathLike) -> Trace:
    """Open a trace file lazily: metadata now, each tensor when it is first asked for.

    Raises TraceError with a one-line message for a missing, truncated, corrupt or foreign
    file, or one written by a newer schema version.
    """
    path = Path(path)
    if not path.is_file():
        raise TraceError(
            f"trace file not found: {path}: pass a .mmtrace file written by mmtrace trace",
            key="trace.error.not_found",
            path=str(path),
        )
    try:
        handle = safe_open(str(path), framework="pt")
        metadata = handle.metadata() or {}
        keys = set(handle.keys())
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise TraceError(
            f"cannot read {path} as a trace file ({_first_line(error)}): pass a .mmtrace file written by mmtrace trace",
            key="trace.error.unreadable",
            path=str(path),
        ) from None

    if metadata.get("format") != FORMAT:
        raise TraceError(
            f"{path} is a safetensors file but not a trace (no format={FORMAT} metadata): "
            f"pass a .mmtrace file written by mmtrace trace",
            key="trace.error.foreign",
            path=str(path),
        )
    version = metadata.get("schema_version", "")
    if not version.isdigit() or int(version) > SCHEMA_VERSION:
        raise TraceError(
            f"{path} has trace schema version {version!r}, but this minimind-trace reads up to {SCHEMA_VERSION}: "
            f"upgrade minimind-trace",
            key="trace.error.schema",
            path=str(path),
            version=version,
            supported=SCHEMA_VERSION,
        )
    try:
        steps, info = trace_from_json(json.loads(metadata["trace"]))
    except (KeyError, TypeError, ValueError) as error:
        raise TraceError(
            f"{path} has corrupt trace metadata ({type(error).__name__}: {_first_line(error)}): re-record the trace",
            key="trace.error.corrupt",
            path=str(path),
        ) from None
    missing = sorted({key for step in steps for key in (step.tensor_key, step.grad_key) if key} - keys)
    if missing:
        raise TraceError(
            f"{path} is corrupt: tensor {missing[0]} is listed but not stored: re-record the trace",
            key="trace.error.missing_tensor",
            path=str(path),
            tensor=missing[0],
        )
    return Trace(steps, info, FileStore(handle, path), path=str(path))


class FileStore:
    """Tensors read one at a time from a memory-mapped safetensors file."""

    def __init__(self, handle, path: Path):
        self._handle = handle
        self._path = path

    def get(self, key: str) -> torch.Tensor:
        if self._handle is None:
            raise TraceError(f"trace {self._path} is closed: open it again with open_trace", key="trace.error.closed", path=str(self._path))
        try:
            return self._handle.get_tensor(key)
        except (SafetensorError, OSError) as error:
            raise TraceError(
                f"cannot read tensor {key} from {self._path} ({_first_line(error)}): the file changed or is damaged; re-record it",
                key="trace.error.read_failed",
                path=str(self._path),
                tensor=key,
            ) from None

    def keys(self) -> list[str]:
        return [] if self._handle is None else list(self._handle.keys())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.__exit__(None, None, None)
            self._handle = None


def trace_to_json(trace: Trace) -> dict[str, Any]:
    """Return the JSON object stored in a trace file's metadata."""
    info = trace.info
    return {
        "mode": info.mode,
        "storage_dtype": info.storage_dtype,
        "source": info.source,
        "prompt": info.prompt,
        "model": {"config": info.config, "weights_sha256": info.weights_sha256},
        "tokens": {"ids": [list(row) for row in info.tokens.ids], "labels": [list(row) for row in info.tokens.labels], "positions": list(info.tokens.positions)},
        "passes": [{"index": p.index, "start": p.start, "length": p.length} for p in info.passes],
        "grads": info.grads,
        "generation": info.generation,
        "warnings": list(info.warnings),
        "steps": [step.to_dict() for step in trace.steps],
    }


def trace_from_json(data: dict[str, Any]) -> tuple[list[Step], TraceInfo]:
    """Rebuild steps and TraceInfo from `trace_to_json` output."""
    tokens = data["tokens"]
    info = TraceInfo(
        mode=str(data["mode"]),
        tokens=Tokens(
            ids=tuple(tuple(int(i) for i in row) for row in tokens["ids"]),
            labels=tuple(tuple(str(label) for label in row) for row in tokens["labels"]),
            positions=tuple(int(p) for p in tokens["positions"]),
        ),
        passes=[PassInfo(index=int(p["index"]), start=int(p["start"]), length=int(p["length"])) for p in data["passes"]],
        config=dict(data["model"]["config"]),
        weights_sha256=str(data["model"]["weights_sha256"]),
        prompt=data.get("prompt"),
        storage_dtype=data.get("storage_dtype"),
        source=str(data.get("source", "minimind")),
        grads=bool(data.get("grads", False)),
        generation=data.get("generation"),
        warnings=[str(w) for w in data.get("warnings", [])],
    )
    return [Step.from_dict(step) for step in data["steps"]], info


def _owned_tensors(trace: Trace) -> dict[str, torch.Tensor]:
    # safetensors rejects two entries that share memory, which views of one buffer would.
    tensors = {}
    storages = set()
    for key, tensor in trace.tensor_items():
        tensor = tensor.detach().to("cpu").contiguous()
        storage = tensor.untyped_storage().data_ptr()
        if storage in storages:
            tensor = tensor.clone()
            storage = tensor.untyped_storage().data_ptr()
        storages.add(storage)
        tensors[key] = tensor
    return tensors


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__
