"""The thin gateway in front of a portal's services (filled by the gateway issue)."""
