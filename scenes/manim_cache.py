"""A private view of manim's LaTeX and text caches for one render, merged back only on success.

manim (0.22) writes a cache file only when it is missing and trusts any file that exists.
A worker stopped halfway through a LaTeX run would leave a truncated file that breaks every
later render, and two workers compiling the same formula would write one file at once.
Each render (`mmtrace render`, and each lecture worker) therefore uses a private cache folder
whose existing entries are symlinks to the shared cache, and copies its new entries into the
shared cache (each through a temporary name and a rename) only after it has succeeded. Empty
files, which earlier versions left in the shared cache, are neither linked nor kept.
"""

from __future__ import annotations

import logging
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

logger = logging.getLogger(__name__)


@contextmanager
def private_cache(cache_dir: Callable[[], Path], home: Path, variable: str = "XDG_CACHE_HOME") -> Iterator[Path]:
    """Point `variable` at `home` for the block, so that `cache_dir()` resolves inside it.

    `cache_dir` is the render API's function that derives the cache folder from the
    environment. Yields the private cache folder; on normal exit its new files join the
    shared one.
    """
    shared = cache_dir()
    previous = os.environ.get(variable)
    os.environ[variable] = str(home)
    try:
        private = cache_dir()
        if private == shared:
            # NOTE: the render API no longer derives its cache folder from `variable`, so the
            # render shares the cache directly.
            logger.warning("manim cache %s is not private to this worker", shared)
        else:
            _link_tree(shared, private)
        yield private
    finally:
        if previous is None:
            del os.environ[variable]
        else:
            os.environ[variable] = previous
    if private != shared:
        _merge_new_files(private, shared)


def _link_tree(shared: Path, private: Path) -> None:
    private.mkdir(parents=True, exist_ok=True)
    if not shared.is_dir():
        return
    for path in shared.rglob("*"):
        # An empty file is what a render killed while writing it leaves; it is drawn again.
        if path.is_file() and path.stat().st_size > 0:
            link = private / path.relative_to(shared)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path)


def _merge_new_files(private: Path, shared: Path) -> None:
    for path in private.rglob("*"):
        if path.is_symlink() or not path.is_file() or path.stat().st_size == 0:
            continue
        target = shared / path.relative_to(private)
        if target.exists() and target.stat().st_size > 0:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(path, temporary)
        os.replace(temporary, target)
