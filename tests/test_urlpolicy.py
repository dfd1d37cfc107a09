"""check_url, the URL policy, called directly: each row is a URL a spec (or a hostile API
response) could carry and the exact refusal a user would read, or None when it may be sent.

DNS is outside: every call passes a resolver (a table of names), so no test touches the
network. tests/security/test_input_attacks.py runs the same policy end to end through the CLI;
``tools/mutation urlpolicy`` measures how many changes to the policy these tests notice.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from runner.inputs.urlpolicy import MAX_URL, Resolver, UnresolvedHost, check_url, system_resolver

PUBLIC = "93.184.216.34"


def dns(table: dict[str, list[str]] | None = None) -> Resolver:
    """A resolver over ``table``; names not in it do not resolve. Default: every name is public."""

    def resolve(host: str) -> list[str]:
        if table is None:
            return [PUBLIC]
        if host not in table:
            raise UnresolvedHost(f"NXDOMAIN {host}")
        return table[host]

    return resolve


def check(url: str, allowed_hosts: Sequence[str] | None = None) -> str | None:
    return check_url(url, allowed_hosts=allowed_hosts, resolve=dns())


def ip_refused(host: str) -> str:
    return f"IP address {host} as host is not allowed; use a DNS name"


def not_dns(host: str) -> str:
    return f"{host!r} is not a valid public DNS name"


BASE = "https://cdn.example.com/"
WS = "URL contains whitespace or backslashes"
USERINFO = "URLs with user:password@ are not allowed"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        pytest.param(BASE + "a.png", None, id="plain"),
        pytest.param(BASE + "a" * (MAX_URL - len(BASE)), None, id="length-2048-exactly"),
        pytest.param(BASE + "a" * (MAX_URL - len(BASE) + 1), "URL is 2049 characters long; the limit is 2048",
                     id="length-2049"),
        pytest.param(BASE + "Xmas/IMG_01.PNG?X=1#X", None, id="capitals-query-fragment"),
        pytest.param(BASE + "a@b.png", None, id="at-sign-in-the-path"),
        pytest.param("HTTPS://CDN.Example.COM/a.png", None, id="scheme-and-host-any-case"),
        pytest.param(BASE + "a b.png", WS, id="space"),
        pytest.param(BASE + "a\tb.png", WS, id="tab"),
        pytest.param(BASE + "a.png\r\nHost: evil", WS, id="crlf"),
        pytest.param(BASE + "a.png\nHost: evil", WS, id="newline"),
        pytest.param("https://cdn.example.com\\@evil.example/a.png", WS, id="backslash"),
        pytest.param("http://cdn.example.com/a.png",
                     "http URLs are not allowed; use https://, runway:// or a local path", id="http"),
        pytest.param("ftp://cdn.example.com/a.png",
                     "ftp URLs are not allowed; use https://, runway:// or a local path", id="ftp"),
        pytest.param("cdn.example.com/a.png",
                     "scheme-less URLs are not allowed; use https://, runway:// or a local path", id="no-scheme"),
        pytest.param("https://cdn.example.com:99999/a.png", "not a valid URL (Port out of range 0-65535)",
                     id="port-out-of-range"),
        pytest.param("https://[::1/a.png", "not a valid URL (Invalid IPv6 URL)", id="unclosed-bracket"),
        pytest.param("https://user:secret@cdn.example.com/a.png", USERINFO, id="user-password"),
        pytest.param("https://user@cdn.example.com/a.png", USERINFO, id="user"),
        pytest.param("https://@cdn.example.com/a.png", USERINFO, id="empty-userinfo"),
        pytest.param("https://cdn.example.com@evil.example/a.png", USERINFO, id="userinfo-trick"),
        pytest.param("https:///a.png", "URL has no host", id="no-host"),
        pytest.param("https://:443/a.png", "URL has no host", id="port-but-no-host"),
    ],
)
def test_shape(url: str, why: str | None) -> None:
    assert check(url) == why


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        pytest.param("127.0.0.1", "127.0.0.1", id="dotted"),
        pytest.param("8.8.8.8", "8.8.8.8", id="public-dotted-too"),
        pytest.param("127.0.0.1.", "127.0.0.1", id="dotted-trailing-dot"),
        pytest.param("2130706433", "2130706433", id="decimal"),
        pytest.param("0177.0.0.1", "0177.0.0.1", id="octal"),
        pytest.param("0x7f.0.0.1", "0x7f.0.0.1", id="hex-part"),
        pytest.param("0X7F000001", "0x7f000001", id="hex-whole-upper-case"),
        pytest.param("127.1", "127.1", id="short"),
        pytest.param("0", "0", id="zero"),
        pytest.param("1.2.3.4.5", "1.2.3.4.5", id="five-parts"),
        pytest.param("0x.0x.0x.0x.0x", "0x.0x.0x.0x.0x", id="empty-hex-parts"),
        pytest.param("127.0.0.1%25eth0", "127.0.0.1%25eth0", id="ipv4-with-zone"),
        pytest.param("127.0.0.1%25a%25b", "127.0.0.1%25a%25b", id="ipv4-with-two-zones"),
        pytest.param("[::1]", "::1", id="ipv6-loopback"),
        pytest.param("[0:0:0:0:0:0:0:1]", "0:0:0:0:0:0:0:1", id="ipv6-long"),
        pytest.param("[::ffff:127.0.0.1]", "::ffff:127.0.0.1", id="ipv4-mapped"),
        pytest.param("[::ffff:7f00:1]", "::ffff:7f00:1", id="ipv4-mapped-hex"),
        pytest.param("[fe80::1%25eth0]", "fe80::1%25eth0", id="ipv6-zone"),
        pytest.param("[2606:4700:4700::1111]", "2606:4700:4700::1111", id="ipv6-public-too"),
    ],
)
def test_ip_literals_in_every_spelling_are_refused(host: str, shown: str) -> None:
    assert check(f"https://{host}/a.png") == ip_refused(shown)


@pytest.mark.parametrize(
    ("host", "why"),
    [
        pytest.param("localhost", not_dns("localhost"), id="single-label"),
        pytest.param("intranet.", not_dns("intranet"), id="single-label-trailing-dot"),
        pytest.param("cdn.123", not_dns("cdn.123"), id="numeric-tld"),
        pytest.param("cdn.example.123", not_dns("cdn.example.123"), id="numeric-tld-three-labels"),
        pytest.param("-cdn.example.com", not_dns("-cdn.example.com"), id="leading-hyphen"),
        pytest.param("cdn-.example.com", not_dns("cdn-.example.com"), id="trailing-hyphen"),
        pytest.param("cdn_1.example.com", not_dns("cdn_1.example.com"), id="underscore"),
        pytest.param("cdn..example.com", not_dns("cdn..example.com"), id="empty-label"),
        pytest.param("ex%61mple.com", not_dns("ex%61mple.com"), id="percent-encoded"),
        pytest.param("bücher.example", not_dns("bücher.example"), id="not-punycode"),
        pytest.param("a" * 64 + ".com", not_dns("a" * 64 + ".com"), id="label-of-64"),
        pytest.param("a" * 63 + ".com", None, id="label-of-63"),
        pytest.param("xn--bcher-kva.example", None, id="punycode"),
        pytest.param("123.example.com", None, id="numeric-first-label"),
        pytest.param("cdn.example.com.", None, id="trailing-dot"),
        pytest.param("0xcafe.example.com", None, id="hex-looking-label"),
    ],
)
def test_hosts_must_be_dns_names(host: str, why: str | None) -> None:
    assert check(f"https://{host}/a.png") == why


@pytest.mark.parametrize(
    ("url", "why"),
    [
        pytest.param("https://cdn.example.com:443/a.png", None, id="443-explicit"),
        pytest.param("https://cdn.example.com:/a.png", None, id="empty-port"),
        pytest.param("https://cdn.example.com:8443/a.png",
                     "port 8443 is not allowed (only 443, unless allowed_hosts lists cdn.example.com:8443)", id="8443"),
        pytest.param("https://cdn.example.com:444/a.png",
                     "port 444 is not allowed (only 443, unless allowed_hosts lists cdn.example.com:444)", id="444"),
        pytest.param("https://cdn.example.com:0/a.png",
                     "port 0 is not allowed (only 443, unless allowed_hosts lists cdn.example.com:0)", id="0"),
    ],
)
def test_ports_without_allowed_hosts(url: str, why: str | None) -> None:
    assert check(url) == why


def not_listed(host: str, *entries: str) -> str:
    return f"host {host} is not in allowed_hosts ({', '.join(entries)})"


@pytest.mark.parametrize(
    ("url", "allowed", "why"),
    [
        pytest.param(BASE, ["cdn.example.com"], None, id="listed"),
        pytest.param("https://cdn.example.com./", ["cdn.example.com"], None, id="listed-trailing-dot"),
        pytest.param(BASE, ["CDN.Example.com"], None, id="entries-any-case"),
        pytest.param("https://img.example.com/", ["cdn.example.com"], not_listed("img.example.com", "cdn.example.com"),
                     id="not-listed"),
        pytest.param(BASE, [], not_listed("cdn.example.com"), id="empty-list-allows-nothing"),
        pytest.param("https://img.example.com/", ["a.example.com", "b.example.com"],
                     not_listed("img.example.com", "a.example.com", "b.example.com"), id="message-lists-every-entry"),
        pytest.param(BASE, ["a.example.com", "cdn.example.com"], None, id="second-entry"),
        # "*." is any name below the domain (CSP's meaning), never the domain itself or a look-alike.
        pytest.param("https://sub.example.com/", ["*.example.com"], None, id="wildcard-subdomain"),
        pytest.param("https://a.b.example.com/", ["*.example.com"], None, id="wildcard-deeper"),
        pytest.param("https://example.com/", ["*.example.com"], not_listed("example.com", "*.example.com"),
                     id="wildcard-not-the-apex"),
        pytest.param("https://example.com/", ["example.com", "*.example.com"], None, id="apex-listed-too"),
        pytest.param("https://evilexample.com/", ["*.example.com"], not_listed("evilexample.com", "*.example.com"),
                     id="wildcard-not-a-suffix-lookalike"),
        pytest.param("https://example.com.evil.net/", ["*.example.com"],
                     not_listed("example.com.evil.net", "*.example.com"), id="wildcard-not-a-prefix-lookalike"),
        pytest.param("https://sub.example.com/", ["example.com"], not_listed("sub.example.com", "example.com"),
                     id="plain-entry-no-subdomains"),
        pytest.param("https://sub.example.com/", ["*"], not_listed("sub.example.com", "*"),
                     id="bare-star-is-no-wildcard"),
        # ports: an entry without one means 443; host:port allows that port only
        pytest.param("https://cdn.example.com:443/", ["cdn.example.com"], None, id="no-port-entry-443-explicit"),
        pytest.param("https://cdn.example.com:8443/", ["cdn.example.com"],
                     not_listed("cdn.example.com:8443", "cdn.example.com"), id="no-port-entry-8443"),
        pytest.param("https://cdn.example.com:8443/", ["cdn.example.com:8443"], None, id="port-entry"),
        pytest.param(BASE, ["cdn.example.com:8443"], not_listed("cdn.example.com", "cdn.example.com:8443"),
                     id="port-entry-refuses-443"),
        pytest.param("https://cdn.example.com:9443/", ["cdn.example.com:8443"],
                     not_listed("cdn.example.com:9443", "cdn.example.com:8443"), id="port-entry-other-port"),
        pytest.param(BASE, ["cdn.example.com:443"], None, id="443-entry-no-port"),
        pytest.param("https://cdn.example.com:443/", ["cdn.example.com:443"], None, id="443-entry-443"),
        pytest.param("https://cdn.example.com:0/", ["cdn.example.com:443"],
                     not_listed("cdn.example.com:0", "cdn.example.com:443"), id="443-entry-refuses-port-0"),
        pytest.param("https://cdn.example.com:0/", ["cdn.example.com"],
                     not_listed("cdn.example.com:0", "cdn.example.com"), id="no-port-entry-refuses-port-0"),
        pytest.param("https://sub.example.com:8443/", ["*.example.com:8443"], None, id="wildcard-with-port"),
        pytest.param(BASE, ["cdn.example.com:8443", "cdn.example.com"], None, id="port-mismatch-then-match"),
        pytest.param("https://cdn.example.com:8443/", ["img.example.com", "cdn.example.com:8443"], None,
                     id="no-port-entry-skipped-then-match"),
    ],
)
def test_allowed_hosts(url: str, allowed: list[str], why: str | None) -> None:
    assert check(url, allowed) == why


def refused(addr: str) -> str:
    return f"cdn.example.com resolves to a {addr}; refusing to send it"


@pytest.mark.parametrize(
    ("addresses", "why"),
    [
        pytest.param([PUBLIC], None, id="public-ipv4"),
        pytest.param(["2606:4700:4700::1111"], None, id="public-ipv6"),
        pytest.param(["::ffff:93.184.216.34"], None, id="mapped-public"),
        pytest.param([PUBLIC, "2606:4700:4700::1111"], None, id="all-public"),
        pytest.param(["127.0.0.1"], refused("loopback address 127.0.0.1"), id="loopback"),
        pytest.param(["127.8.9.10"], refused("loopback address 127.8.9.10"), id="loopback-range"),
        pytest.param(["::1"], refused("loopback address ::1"), id="loopback-ipv6"),
        pytest.param(["::ffff:127.0.0.1"], refused("loopback address 127.0.0.1"), id="mapped-loopback"),
        pytest.param(["169.254.169.254"], refused("link-local address 169.254.169.254"), id="metadata"),
        pytest.param(["fe80::1%eth0"], refused("link-local address fe80::1"), id="link-local-ipv6-with-zone"),
        pytest.param(["10.0.0.1"], refused("private address 10.0.0.1"), id="private-10"),
        pytest.param(["172.16.0.1"], refused("private address 172.16.0.1"), id="private-172"),
        pytest.param(["192.168.1.1"], refused("private address 192.168.1.1"), id="private-192"),
        pytest.param(["fc00::1"], refused("private address fc00::1"), id="private-ipv6"),
        pytest.param(["::ffff:10.0.0.1"], refused("private address 10.0.0.1"), id="mapped-private"),
        pytest.param(["224.0.0.1"], refused("multicast address 224.0.0.1"), id="multicast"),
        pytest.param(["ff02::1"], refused("multicast address ff02::1"), id="multicast-ipv6"),
        pytest.param(["4000::1"], refused("reserved address 4000::1"), id="reserved-ipv6"),
        pytest.param(["100.64.0.1"], refused("non-public address 100.64.0.1"), id="shared-address-space"),
        pytest.param([PUBLIC, "10.0.0.1"], refused("private address 10.0.0.1"), id="one-of-many"),
    ],
)
def test_resolved_addresses(addresses: list[str], why: str | None) -> None:
    assert check_url(BASE + "a.png", resolve=dns({"cdn.example.com": addresses})) == why


@pytest.mark.parametrize(
    ("addresses", "offline_ok", "why"),
    [
        pytest.param(None, False, "cannot resolve cdn.example.com; refusing to send a URL that cannot be checked",
                     id="unresolvable-before-sending"),
        pytest.param(None, True, None, id="unresolvable-offline"),
        pytest.param([], False, "cdn.example.com has no addresses", id="no-addresses-before-sending"),
        pytest.param([], True, None, id="no-addresses-offline"),
        pytest.param(["10.0.0.1"], True, refused("private address 10.0.0.1"), id="offline-still-checks-addresses"),
    ],
)
def test_offline_ok(addresses: list[str] | None, offline_ok: bool, why: str | None) -> None:
    table = {} if addresses is None else {"cdn.example.com": addresses}
    assert check_url(BASE + "a.png", resolve=dns(table), offline_ok=offline_ok) == why


def test_unresolvable_is_refused_unless_offline_ok_is_asked_for() -> None:
    why = check_url(BASE + "a.png", resolve=dns({}))
    assert why == "cannot resolve cdn.example.com; refusing to send a URL that cannot be checked"


def test_the_name_resolved_is_the_host_without_its_trailing_dot() -> None:
    assert check_url("https://CDN.example.com./a.png", resolve=dns({"cdn.example.com": [PUBLIC]})) is None


def test_allowed_hosts_do_not_skip_the_address_check() -> None:
    why = check_url(BASE + "a.png", allowed_hosts=["cdn.example.com"], resolve=dns({"cdn.example.com": ["10.0.0.1"]}))
    assert why == refused("private address 10.0.0.1")


def test_system_resolver_without_the_network() -> None:
    assert system_resolver("127.0.0.2") == ["127.0.0.2"]  # a numeric host is answered locally
    with pytest.raises(UnresolvedHost):
        system_resolver("a" * 64 + ".example")  # refused by the IDNA codec before any query
