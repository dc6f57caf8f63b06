"""Shim: the former `Identity` facade is now the context itself (`context.IdentityContext`).

Kept so code written against `services.identity.service.Identity` (tests, branches in
flight) still imports; new code uses `build_context()` and `IdentityContext`.
"""

from __future__ import annotations

from services.identity.context import IdentityContext as Identity

__all__ = ["Identity"]
