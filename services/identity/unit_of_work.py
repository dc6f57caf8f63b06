"""Shim: identity uses `ctx.transaction()` (core's `db.transaction`) and core's `kept`.

Kept for the routes and modules that still import it; new code does not.
"""

from services.core.db import transaction
from services.core.problems import kept

__all__ = ["kept", "transaction"]
