"""Deployment material: simulators of external systems and demo data."""
