"""Identity's unit of work is core's: one transaction idiom for every service."""

from services.core.db import transaction
from services.core.problems import kept

__all__ = ["kept", "transaction"]
