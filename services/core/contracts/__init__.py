"""The contracts between services, in one home: each service's published event types,
command names and the fields of their data (`services.core.contracts.<service>`).

Services, deploy/ and bench/ import names from here; tests/test_contract.py holds them
against docs/asyncapi.yaml. The bus (`services.core.bus`) only carries them.
"""

from __future__ import annotations

from services.core.contracts import catalog, dossier, identity, notify
from services.core.contracts.message import Message

MESSAGES: dict[str, Message] = {
    message.type: message
    for module in (identity, catalog, dossier, notify)
    for message in module.MESSAGES
}

__all__ = ["MESSAGES", "Message", "catalog", "dossier", "identity", "notify"]
