"""Catalogue service of the public-service portal."""

SERVICE = "catalog"
