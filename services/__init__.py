"""The public-service portal: identity, catalogue, dossier and notify services."""
