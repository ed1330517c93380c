"""Shared fixtures: the upstream-built parity checkpoints copied into tests/fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).parent / "fixtures"
PARITY = FIXTURES / "minimind-parity"
PARITY_VARIANTS = ("m3_dense", "m3_moe", "m3_yarn", "m2_dense", "m2_moe")


@pytest.fixture(autouse=True)
def _few_threads():
    # The machines that run these tests have two cores; more threads only add contention.
    torch.set_num_threads(2)
    yield


@pytest.fixture(scope="session")
def parity_dir() -> Path:
    """Folder holding one subfolder per upstream parity variant."""
    return PARITY
