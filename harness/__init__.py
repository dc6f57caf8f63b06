"""Running the portal's parts on one machine for the tests and the benchmarks alike:
scratch databases, a whole deployment of real processes, a citizen's journey over HTTP.

Neither a service nor a test: it imports only `services.core` and the gateway's
settings, and starts services through their public entry points (their commands).
"""
