"""The client's address, as the proxy configuration lets us trust it."""

from flask import request


def client_address() -> str:
    """The caller's IP (ProxyFix has already applied trusted X-Forwarded-For headers)."""
    return request.remote_addr or "unknown"
