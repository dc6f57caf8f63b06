"""Notify service of the public-service portal."""

SERVICE = "notify"
