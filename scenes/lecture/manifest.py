"""The lecture folder's manifest, lecture.json: which clips are there and the inputs that made them.

A clip is reused when its entry's key (a hash of everything its render depends on) matches
the key wanted now and every file the entry lists is on disk with its recorded size.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

MANIFEST_NAME = "lecture.json"
FORMAT = 1


def input_key(inputs: dict) -> str:
    """Return the SHA-256 of `inputs` (JSON values) in canonical form."""
    canonical = json.dumps(inputs, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Manifest:
    """lecture.json in memory: `clips` by scene id, plus the trace the clips were made from."""

    def __init__(self, folder: Path, data: dict | None = None):
        self.folder = folder
        data = data or {}
        self.clips: dict[str, dict] = dict(data.get("clips", {}))
        self.trace: dict = dict(data.get("trace", {}))
        self.order: list[str] = list(data.get("order", []))

    @classmethod
    def load(cls, folder: Path) -> "Manifest":
        """Read the folder's manifest; a missing or unreadable one is an empty manifest."""
        path = folder / MANIFEST_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls(folder)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return cls(folder)
        return cls(folder, data)

    def save(self) -> None:
        """Write the manifest atomically (a temporary file, then a rename)."""
        data = {"format": FORMAT, "order": self.order, "trace": self.trace, "clips": self.clips}
        path = self.folder / MANIFEST_NAME
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(temporary, path)

    def reusable(self, scene_id: str, key: str, stem: str) -> bool:
        """Return True when the clip of `scene_id` was made with `key`, is named `stem`, and its files are intact."""
        entry = self.clips.get(scene_id)
        if entry is None or entry.get("key") != key or entry.get("stem") != stem:
            return False
        for name, size in entry.get("files", {}).items():
            path = self.folder / name
            if not path.is_file() or path.stat().st_size != size:
                return False
        return True
