"""Moved: the `notify.send` command, its templates and channels are notify's contract,
in services.core.contracts.notify."""

from __future__ import annotations

# transitional re-export: removed once services import services.core.bus / contracts
from services.core.contracts.notify import NOTIFY_SEND, Channel, Template, send_notification

__all__ = ["NOTIFY_SEND", "Channel", "Template", "send_notification"]
