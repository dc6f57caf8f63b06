"""Moved to tests/support/scratch.py: scratch databases are for tests and benchmarks."""

from __future__ import annotations

# transitional re-export: removed once services import services.core.bus / contracts
from tests.support.scratch import ScratchDatabase, scratch_database

__all__ = ["ScratchDatabase", "scratch_database"]
