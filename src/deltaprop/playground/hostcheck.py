"""Which Host and Origin headers the server answers: its own, nothing else (DNS rebinding).

A web page on another site can make the browser send requests to 127.0.0.1 after pointing its
own DNS name there ("DNS rebinding"); such requests carry that site's name in ``Host`` and its
address in ``Origin``. :class:`HostPolicy` accepts only the server's own names: ``localhost``,
the loopback addresses, the address it is bound to (any IP literal when bound to all
interfaces: an IP literal cannot be rebound), each with the server's port.

Examples
--------
>>> policy = HostPolicy("127.0.0.1", 8000)
>>> policy.host_ok("127.0.0.1:8000"), policy.host_ok("localhost:8000")
(True, True)
>>> policy.host_ok("evil.example:8000"), policy.host_ok("127.0.0.1:9999")
(False, False)
>>> policy.origin_ok("http://localhost:8000"), policy.origin_ok("http://evil.example:8000")
(True, False)
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["HostPolicy"]

_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
_WILDCARD = {"0.0.0.0", "::", ""}


def _split(host: str) -> tuple[str, int | None] | None:
    """'name:port' or '[v6]:port' -> (name, port); None when malformed."""
    host = host.strip().lower()
    if not host or any(c in host for c in " /\\@?#"):
        return None
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return None
        name, rest = host[1:end], host[end + 1:]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else ""
    else:
        name, _, port_text = host.partition(":")
        if ":" in port_text:
            return None
    if port_text and not port_text.isdigit():
        return None
    return name, (int(port_text) if port_text else None)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostPolicy:
    """The server's own host names for the address ``bind_host:port``."""

    def __init__(self, bind_host: str, port: int) -> None:
        self.bind_host = bind_host.strip("[]").lower()
        self.port = int(port)

    def name_ok(self, name: str) -> bool:
        if name in _LOOPBACK_NAMES or name == self.bind_host:
            return True
        return self.bind_host in _WILDCARD and _is_ip(name)

    def host_ok(self, header: str | None) -> bool:
        """True for a ``Host`` header naming this server (with its port)."""
        if not header:
            return False
        parts = _split(header)
        if parts is None:
            return False
        name, port = parts
        return self.name_ok(name) and (port or 80) == self.port

    def origin_ok(self, header: str | None) -> bool:
        """True for a missing ``Origin`` header or one that is this server's own."""
        if header is None:
            return True
        try:
            parts = urlsplit(header.strip())
        except ValueError:
            return False
        if parts.scheme != "http" or parts.path not in ("", "/") or not parts.netloc:
            return False
        return self.host_ok(parts.netloc)
