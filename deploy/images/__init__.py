"""The portal's container images built from Debian packages and PyPI (`make images`)."""
