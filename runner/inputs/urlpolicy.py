"""Which URLs a spec may send to Runway, and which output URLs apply may download.

Specs come from pull requests and run in CI next to an API key, so a URL is hostile
until shown otherwise (fail closed):

- ``https`` only; at most 2048 characters; no user:password@; no port but 443 unless the
  host is listed with that port in ``allowed_hosts``;
- the host must be a DNS name: IP literals in any spelling are refused — dotted, decimal
  (``2130706433``), octal (``0177.0.0.1``), hex (``0x7f.1``), short (``127.1``), IPv6
  (``[::1]``), IPv4-mapped IPv6;
- with ``allowed_hosts`` set (in the spec), the host must match one (``cdn.example.com``
  or ``*.example.com``);
- the name is resolved and refused when any address is private, loopback, link-local
  (169.254.169.254 included), multicast, reserved, unspecified, or IPv4-mapped IPv6 of
  those. While validating offline an unresolvable name is a warning; before anything is
  sent it is an error.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

MAX_URL = 2048
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

Resolver = Callable[[str], list[str]]


class UnresolvedHost(Exception):
    """DNS gave no answer; the caller decides whether that is fatal."""


def system_resolver(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError) as e:
        raise UnresolvedHost(str(e)) from None
    return sorted({str(info[4][0]) for info in infos})


def _ip_literal(host: str) -> bool:
    bare = host.strip("[]")
    try:
        ipaddress.ip_address(bare.split("%", 1)[0])
        return True
    except ValueError:
        pass
    try:
        socket.inet_aton(bare)  # accepts 127.1, 2130706433, 0x7f.1, 0177.0.0.1
        return True
    except OSError:
        pass
    return bool(re.fullmatch(r"[0-9.x]+", bare.lower()))


def bad_address(addr: str) -> str | None:
    """Why an address must not be fetched by the API on our behalf, or None."""
    ip = ipaddress.ip_address(addr.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag, word in (("is_loopback", "loopback"), ("is_link_local", "link-local"), ("is_private", "private"),
                       ("is_multicast", "multicast"), ("is_reserved", "reserved"),
                       ("is_unspecified", "unspecified")):
        if getattr(ip, flag):
            return f"{word} address {ip}"
    if not ip.is_global:
        return f"non-public address {ip}"
    return None


def _host_allowed(host: str, port: int | None, allowed: Sequence[str]) -> bool:
    for entry in allowed:
        name, _, want_port = entry.lower().partition(":")
        if want_port and str(443 if port is None else port) != want_port:  # an explicit :0 is not 443
            continue
        if not want_port and port not in (None, 443):
            continue
        if name.startswith("*.") and host.endswith(name[1:]) or host == name:
            return True
    return False


def check_url(url: str, *, allowed_hosts: Sequence[str] | None = None, resolve: Resolver | None = None,
              offline_ok: bool = False) -> str | None:
    """None when ``url`` may be sent, else a sentence saying why not.

    Checks in order: the URL's form, its host name (and port, and ``allowed_hosts``), then
    the addresses the name resolves to.
    """
    try:
        host, port = _split(url)
    except _Refused as e:
        return str(e)
    why = _host_problem(host, port, allowed_hosts)
    if why:
        return why
    return _address_problem(host, resolve or system_resolver, offline_ok=offline_ok)


class _Refused(Exception):
    pass


def _split(url: str) -> tuple[str, int | None]:
    """The host name and port of an https URL of acceptable form; raises _Refused saying why not."""
    if len(url) > MAX_URL:
        raise _Refused(f"URL is {len(url)} characters long; the limit is {MAX_URL}")
    if any(c in url for c in "\r\n\t \\"):
        raise _Refused("URL contains whitespace or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise _Refused(f"not a valid URL ({e})") from None
    if parts.scheme.lower() != "https":
        raise _Refused(f"{parts.scheme or 'scheme-less'} URLs are not allowed; use https://, runway:// or a local path")
    if "@" in parts.netloc:
        raise _Refused("URLs with user:password@ are not allowed")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise _Refused("URL has no host")
    return host, port


def _host_problem(host: str, port: int | None, allowed_hosts: Sequence[str] | None) -> str | None:
    """A public DNS name, allowed (with its port) by ``allowed_hosts`` or on 443."""
    if _ip_literal(host):
        return f"IP address {host} as host is not allowed; use a DNS name"
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        return f"{host!r} is not a valid public DNS name"
    if allowed_hosts is not None:
        if not _host_allowed(host, port, allowed_hosts):
            where = host if port is None else f"{host}:{port}"
            return f"host {where} is not in allowed_hosts ({', '.join(allowed_hosts)})"
    elif port not in (None, 443):
        return f"port {port} is not allowed (only 443, unless allowed_hosts lists {host}:{port})"
    return None


def _address_problem(host: str, resolve: Resolver, *, offline_ok: bool) -> str | None:
    """Every address the name resolves to is public; no answer fails closed unless offline."""
    try:
        addresses = resolve(host)
    except UnresolvedHost:
        return None if offline_ok else f"cannot resolve {host}; refusing to send a URL that cannot be checked"
    if not addresses:
        return None if offline_ok else f"{host} has no addresses"
    for addr in addresses:
        why = bad_address(addr)
        if why:
            return f"{host} resolves to a {why}; refusing to send it"
    return None
