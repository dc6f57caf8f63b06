"""Stand-ins for external systems, spoken to over their real protocol."""
