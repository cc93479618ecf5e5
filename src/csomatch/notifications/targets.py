"""Where a webhook may go: the public internet only.

It is checked at registration and at every delivery, and the delivery connects to exactly
the address that was checked.

A URL's host is taken apart the way the HTTP client reads it (``httpx.URL``), then:

- a host written as an address, in any of the forms a C library accepts (``2130706433``,
  ``0x7f000001``, ``0177.0.0.1``, ``127.1``, ``0``; parsed here as the WHATWG URL standard
  does, never by the resolver), is normalised and judged;
- an IPv6 address that embeds an IPv4 address (IPv4-mapped ``::ffff:0:0/96``,
  IPv4-compatible ``::/96``, NAT64 ``64:ff9b::/96`` and ``64:ff9b:1::/48``, 6to4
  ``2002::/16``, Teredo ``2001::/32``) is judged by the IPv4 address it reaches;
- a name is refused if it is special (``localhost``, a single label that the local search
  domains complete, ``.local``, ``.internal`` such as ``metadata.google.internal``, …), and
  otherwise resolved, once: if any address it resolves to is not public, it is refused.

Refused are loopback, private, link-local (169.254.169.254, cloud metadata), unique-local,
site-local, multicast, reserved, unspecified, carrier-grade NAT, benchmarking, documentation
and other special-purpose ranges (``ipaddress``'s ``is_global`` and friends, with the table
below naming the reason).

The delivery then connects to the checked address itself (the URL's host replaced by it, the
``Host`` header and the TLS server name, SNI and certificate check, kept to the name), so a
DNS answer that changes between the check and the connection (DNS rebinding) changes
nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx
import msgspec

from csomatch.errors import InvalidInput
from csomatch.i18n import _

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

ADVICE = (
    "webhooks go to public https endpoints (CSOMATCH_WEBHOOK_ALLOW_PRIVATE is off for this server)"
)

_V4 = [
    (ipaddress.IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "the unspecified (this-network) range"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a carrier-grade NAT (shared) address"),
        ("127.0.0.0/8", "a loopback address (this machine)"),
        ("169.254.0.0/16", "a link-local address, where cloud metadata services answer"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "an IETF protocol address"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a 6to4 relay address"),
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved (or broadcast) address"),
    )
]
_V6 = [
    (ipaddress.IPv6Network(net), why)
    for net, why in (
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address (this machine)"),
        ("100::/64", "a discard-only address"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        ("fc00::/7", "a unique-local (private) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local (private) address"),
        ("ff00::/8", "a multicast address"),
    )
]
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")

#: Names of cloud metadata services beyond the ``.internal`` and single-label ones.
METADATA_NAMES = frozenset({"metadata.goog", "metadata.tencentyun.com"})
#: Suffixes that never name a public endpoint (RFC 6761, 6762, 8375; ICANN's ``.internal``).
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".arpa", ".invalid", ".lan")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


class Refused(InvalidInput):
    """A webhook target that is not on the public internet; ``reason`` says why.

    The reason leaves out the advice that the problem detail adds.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"url host {reason}, not on the public internet; {ADVICE}", field="$.url")
        self.reason = reason


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """A webhook URL taken apart: what to check, where to connect, what to call the host."""

    scheme: str
    #: The name (IDNA, lower case, no trailing dot) or the address as written.
    host: str
    #: The address the host names, when it is written as one (normalised).
    address: Address | None
    port: int
    #: Path and query, as sent.
    path: str

    @property
    def default_port(self) -> bool:
        """Whether the port is the scheme's own (then the Host header leaves it out)."""
        return self.port == (443 if self.scheme == "https" else 80)

    def host_header(self) -> str:
        """The ``Host`` header: the name (or normalised address) and a non-default port."""
        if self.address is None:
            name = self.host
        else:
            name = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return name if self.default_port else f"{name}:{self.port}"

    def url_at(self, ip: Address) -> str:
        """The URL with its host replaced by ``ip``: the connection goes there, nowhere else."""
        literal = f"[{ip}]" if ip.version == 6 else str(ip)
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    def extensions(self) -> dict[str, str]:
        """The TLS server name (SNI and certificate check) of a name reached by address."""
        if self.scheme == "https" and self.address is None:
            return {"sni_hostname": self.host}
        return {}


class Resolver:
    """Names to addresses through the system's resolver (``getaddrinfo``).

    DNS is the one external seam of the check (tests replace it).
    """

    async def resolve(self, host: str, port: int) -> list[Address]:
        """Every address ``host`` resolves to, in the resolver's order; OSError if none."""
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        found: list[Address] = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if ip not in found:
                found.append(ip)
        return found


def _ipv4_part(part: str) -> int | None:
    """One dot-separated part of an IPv4 host: decimal, 0x hex or 0-prefixed octal."""
    if part[:2].lower() == "0x":
        digits, base, allowed = part[2:], 16, "0123456789abcdefABCDEF"
    elif len(part) > 1 and part[0] == "0":
        digits, base, allowed = part[1:], 8, "01234567"
    else:
        digits, base, allowed = part, 10, "0123456789"
    if digits == "":
        return 0 if base == 16 else None
    if any(c not in allowed for c in digits):
        return None
    return int(digits, base)


def parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host written in any numeric form names, or None for a name.

    Follows the WHATWG URL standard (what browsers and C's ``inet_aton`` accept): one to
    four parts, each decimal, hex or octal, the last filling the remaining bytes. A host
    whose last part is numeric but which is no valid address raises ValueError.
    """
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    last = parts[-1]
    if last == "" or (_ipv4_part(last) is None and not last.isdigit()):
        return None  # a name: its last label is not a number
    numbers = [_ipv4_part(p) for p in parts]
    if len(parts) > 4 or any(n is None for n in numbers):
        raise ValueError(host)
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise ValueError(host)
    address = values[-1]
    for i, n in enumerate(values[:-1]):
        address += n << (8 * (3 - i))
    return ipaddress.IPv4Address(address)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 address reaches, and how it embeds it (None: it does not)."""
    value = int(ip)
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, "IPv4-mapped"
    if value >> 32 == 0 and value > 1:
        return ipaddress.IPv4Address(value), "IPv4-compatible"
    if ip in _NAT64:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF), "NAT64"
    if ip in _NAT64_LOCAL:
        # RFC 6052 for a /48 prefix: 16 bits, the reserved octet, then the other 16.
        high, low = (value >> 64) & 0xFFFF, (value >> 40) & 0xFFFF
        return ipaddress.IPv4Address((high << 16) | low), "local-use NAT64"
    if ip.sixtofour is not None:
        return ip.sixtofour, "6to4"
    if ip.teredo is not None:
        return ip.teredo[1], "Teredo"
    return None


def address_problem(ip: Address) -> str | None:
    """Why ``ip`` is not on the public internet (for instance "a loopback address"), or None."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = embedded_ipv4(ip)
        if embedded is not None:
            inner, how = embedded
            problem = address_problem(inner)
            if problem is not None:
                return f"an IPv6 address that reaches {inner} ({how}), {problem}"
            if how in ("IPv4-mapped", "NAT64", "6to4"):
                return None  # a public IPv4 address, reached another way
        for net6, why in _V6:
            if ip in net6:
                return why
        unusual = ip.is_site_local
    else:
        for net4, why in _V4:
            if ip in net4:
                return why
        unusual = False
    if not ip.is_global or ip.is_multicast or ip.is_reserved or unusual:
        return "a special-purpose address"
    return None


def name_problem(name: str) -> str | None:
    """Why a host name never names a public endpoint, or None.

    None does not clear a name: it must still resolve to public addresses only.
    """
    if name == "localhost" or name.endswith(".localhost"):
        return "names this machine"
    if "." not in name:
        return (
            "is a single-label name, completed by the local network's search domains"
            " (metadata, intranet hosts)"
        )
    if name in METADATA_NAMES or name.endswith(LOCAL_SUFFIXES):
        return "is a cloud metadata or local-network name"
    return None


def parse_target(url: str, *, allow_http: bool = True) -> Target:
    """Take a webhook URL apart, or refuse it (InvalidInput on ``$.url``).

    It is refused when it is not an absolute http(s) URL with a valid host, or carries a user
    or password.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise InvalidInput(
            _("url is not a valid URL ({exc}); give an absolute https:// URL", exc=exc),
            field="$.url",
        ) from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parsed.scheme not in schemes or not parsed.raw_host:
        raise InvalidInput(
            _("url must be an absolute https:// URL (or http://)")
            if allow_http
            else _("url must be an absolute https:// URL (CSOMATCH_WEBHOOK_ALLOW_HTTP is off)"),
            field="$.url",
        )
    if parsed.userinfo:
        raise InvalidInput(
            _("url must not carry a user or password; deliveries are signed instead"),
            field="$.url",
        )
    host = parsed.raw_host.decode("ascii").lower()
    if host.endswith(".") and ":" not in host:
        host = host[:-1]
    return Target(
        scheme=parsed.scheme,
        host=host,
        address=_literal(host),
        port=parsed.port or (443 if parsed.scheme == "https" else 80),
        path=parsed.raw_path.decode("ascii"),
    )


def _literal(host: str) -> Address | None:
    """The address a host is written as, or None for a (well-formed) name."""
    bad = InvalidInput(
        _("url host {host} is neither a valid address nor a valid name", host=host), field="$.url"
    )
    if ":" in host:
        if "%" in host:
            raise Refused(_("{host} carries an IPv6 zone: a link-local address", host=host))
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise bad from None
    try:
        v4 = parse_ipv4(host)
    except ValueError:
        raise bad from None
    labels = host.split(".")
    if v4 is None and (
        len(host) > 253
        or any(not label or len(label) > 63 or set(label) - _NAME_CHARS for label in labels)
    ):
        raise bad
    return v4


def check_literal(target: Target) -> None:
    """Refuse a host that is not public by what it says: an address or a special name."""
    if target.address is not None:
        problem = address_problem(target.address)
        if problem is not None:
            written = "" if str(target.address) == target.host else f" (written {target.host})"
            raise Refused(
                _(
                    "{address}{written} is {problem}",
                    address=target.address,
                    written=written,
                    problem=problem,
                )
            )
        return
    problem = name_problem(target.host)
    if problem is not None:
        raise Refused(_("{host} {problem}", host=target.host, problem=problem))


async def checked_addresses(
    target: Target, resolver: Resolver, *, allow_private: bool, timeout_s: float
) -> list[Address]:
    """The addresses to connect to: the URL's own, or its name's, resolved once.

    Raises Refused when the host, or any address its name resolves to, is not public
    (unless ``allow_private``), and OSError (TimeoutError included) when the name does not
    resolve.
    """
    if not allow_private:
        check_literal(target)
    if target.address is not None:
        return [target.address]
    addresses = await asyncio.wait_for(resolver.resolve(target.host, target.port), timeout_s)
    if not addresses:
        raise OSError(f"{target.host} resolves to no address")
    if not allow_private:
        for ip in addresses:
            problem = address_problem(ip)
            if problem is not None:
                raise Refused(
                    _(
                        "{host} resolves to {ip}, {problem}",
                        host=target.host,
                        ip=ip,
                        problem=problem,
                    )
                )
    return addresses
