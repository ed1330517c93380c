"""The private manim cache each render uses keeps broken files out of the shared one."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenes.manim_cache import private_cache


def _cache_dir(tmp_root: Path):
    import os

    return lambda: Path(os.environ.get("XDG_CACHE_HOME", str(tmp_root / "home"))) / "minimind-trace" / "manim"


def test_empty_shared_file_is_redrawn_and_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    cache_dir = _cache_dir(tmp_path)
    shared = cache_dir() / "texts"
    shared.mkdir(parents=True)
    (shared / "broken.svg").write_bytes(b"")  # what a render killed mid-write leaves
    (shared / "good.svg").write_text("<svg/>")

    with private_cache(cache_dir, tmp_path / "work") as private:
        assert (private / "texts" / "good.svg").is_symlink()
        assert not (private / "texts" / "broken.svg").exists()
        (private / "texts" / "broken.svg").write_text("<svg>new</svg>")
        (private / "texts" / "fresh.svg").write_text("<svg>fresh</svg>")

    assert (shared / "broken.svg").read_text() == "<svg>new</svg>"
    assert (shared / "fresh.svg").read_text() == "<svg>fresh</svg>"
    assert (shared / "good.svg").read_text() == "<svg/>"


def test_failed_render_adds_nothing_to_shared_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    cache_dir = _cache_dir(tmp_path)
    shared = cache_dir() / "texts"
    shared.mkdir(parents=True)

    with pytest.raises(RuntimeError):
        with private_cache(cache_dir, tmp_path / "work") as private:
            (private / "texts").mkdir(parents=True, exist_ok=True)
            (private / "texts" / "half.svg").write_text("<svg")
            raise RuntimeError("render failed")
    assert list(shared.iterdir()) == []
