"""Identity service of the public-service portal."""

SERVICE = "identity"
