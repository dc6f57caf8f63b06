"""Code shared by every service: bus, storage, errors, config, logging, health.

This package never imports a service.
"""
