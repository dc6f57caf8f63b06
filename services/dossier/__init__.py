"""Dossier service of the public-service portal."""

SERVICE = "dossier"
