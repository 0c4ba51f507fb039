"""Where a credential may be sent: the one URL parse, the vendor allow-list, public addresses."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from urllib3.util import parse_url

from services.integrations.adapters.endpoints import (
    EndpointPolicy,
    EndpointRefused,
    is_public_address,
    parse_allowed_hosts,
    parse_outbound_url,
)
from services.integrations.adapters.pinned_http import PinnedAddressAdapter, checked_address
from shared.client import cookieless_session

STRICT = EndpointPolicy()
ANY_HOST = EndpointPolicy(extra_hosts={"*": ("*",)}, allow_local=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:8443\\.myconnectwise.net/key",
        "https://api-na.myconnectwise.net\\@127.0.0.1/key",
        "https://api-na.myconnectwise.net@127.0.0.1/key",
        "https://user:pw@api-na.myconnectwise.net/key",
        "https://@api-na.myconnectwise.net/key",
        "https://api-na.myconnectwise.net%40127.0.0.1/key",
        "https://api-na.myconnectwise.net\t/key",
        "https://api-na.myconnectwise.net /key",
        "http://api-na.myconnectwise.net/key",
        "HTTP://api-na.myconnectwise.net/key",
        "ftp://api-na.myconnectwise.net/key",
        "//api-na.myconnectwise.net/key",
        "https://api-na.myconnectwise.net:0/key",
        "https://api-na.myconnectwise.net:99999/key",
        "https://api-na.myconnectwise.net.evil.example/key",
        "https://evil.example/api-na.myconnectwise.net",
        "https://evil.example#@api-na.myconnectwise.net",
        "https://myconnectwise.net/key",
    ],
)
def test_backslash_userinfo_and_foreign_hosts_are_refused(url: str) -> None:
    with pytest.raises(EndpointRefused):
        STRICT.check(url, "connectwise")


@pytest.mark.parametrize(
    "url",
    [
        "https://2130706433/",
        "https://0x7f000001/",
        "https://0x7f.1/",
        "https://127.1/",
        "https://017700000001/",
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:7f00:1]/",
        "https://[fe80::1]/",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/",
        "https://[fd00::1]/",
        "https://0.0.0.0/",
    ],
)
def test_local_addresses_in_any_spelling_are_refused_even_when_allow_listed(url: str) -> None:
    everything = EndpointPolicy(extra_hosts={"*": ("*",)})
    with pytest.raises(EndpointRefused):
        everything.check(url, "syncro")


@pytest.mark.parametrize(
    "url, host",
    [
        ("https://ACME.SyncroMSP.com/api/v1", "acme.syncromsp.com"),
        ("https://acme.syncromsp.com./api/v1", "acme.syncromsp.com"),
        ("HTTPS://acme.syncromsp.com:443/api/v1", "acme.syncromsp.com"),
        ("https://acme\u3002syncromsp\u3002com/api/v1", "acme.syncromsp.com"),
        ("https://\uff41\uff43\uff4d\uff45.syncromsp.com/api/v1", "acme.syncromsp.com"),
        ("https://bücher.syncromsp.com/api/v1", "xn--bcher-kva.syncromsp.com"),
    ],
)
def test_vendor_hosts_are_accepted_in_one_canonical_spelling(url: str, host: str) -> None:
    checked = STRICT.check(url, "syncro")
    assert checked.host == host
    assert checked.url == f"https://{host}/api/v1"


def test_each_vendor_has_its_own_hosts() -> None:
    assert STRICT.check("https://webservices5.autotask.net/ATServicesRest", "autotask")
    assert STRICT.check("https://api.mspbackups.com/api/Users", "msp_backups")
    for vendor in ("autotask", "connectwise", "msp_backups", "zapier", "other"):
        with pytest.raises(EndpointRefused):
            STRICT.check("https://acme.syncromsp.com/api/v1", vendor)


def test_operators_extend_the_allow_list_per_vendor_or_for_all() -> None:
    policy = EndpointPolicy(
        extra_hosts=parse_allowed_hosts("connectwise=cw.msp.example,*=*.proxy.example")
    )
    assert policy.check("https://cw.msp.example/v4_6_release", "connectwise")
    assert policy.check("https://psa.proxy.example/x", "syncro")
    with pytest.raises(EndpointRefused):
        policy.check("https://cw.msp.example/v4_6_release", "syncro")


@pytest.mark.parametrize("raw", ["syncro", "nobody=a.example", "syncro=a.example/x", "=a"])
def test_a_malformed_allow_list_setting_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_allowed_hosts(raw)


URL_PIECES = st.sampled_from(
    [
        "https://",
        "http://",
        "HTTPS://",
        "acme.syncromsp.com",
        "ACME.SYNCROMSP.COM.",
        "127.0.0.1",
        "2130706433",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "evil.example",
        "bücher.example",
        "@",
        "\\",
        ":",
        ":8443",
        "/",
        "?",
        "#",
        "%40",
        "%5c",
        ".",
        "user:pw",
    ]
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(URL_PIECES, min_size=1, max_size=8).map("".join))
@example("https://127.0.0.1:8443\\.myconnectwise.net/key")
@example("https://acme.syncromsp.com@127.0.0.1/")
@example("https://acme.syncromsp.com#@127.0.0.1/")
def test_the_http_library_reads_the_host_that_was_checked(url: str) -> None:
    """Whatever the spelling: a URL that passes is the URL sent, and urllib3 (what requests
    connects with) finds in it exactly the host the check judged."""
    try:
        checked = ANY_HOST.check(url, "syncro")
    except EndpointRefused:
        return
    sent = requests.Request("GET", checked.url).prepare().url
    assert sent is not None
    parsed = parse_url(sent)
    assert (parsed.host or "").strip("[]") == checked.host
    assert parsed.auth is None
    assert (parsed.port or (443 if checked.scheme == "https" else 80)) == checked.port


@settings(max_examples=300)
@given(
    st.one_of(
        st.ip_addresses(network="127.0.0.0/8"),
        st.ip_addresses(network="10.0.0.0/8"),
        st.ip_addresses(network="172.16.0.0/12"),
        st.ip_addresses(network="192.168.0.0/16"),
        st.ip_addresses(network="169.254.0.0/16"),
        st.ip_addresses(network="100.64.0.0/10"),
        st.ip_addresses(network="::1/128"),
        st.ip_addresses(network="fe80::/10"),
        st.ip_addresses(network="fc00::/7"),
        st.ip_addresses(network="224.0.0.0/4"),
        st.ip_addresses(network="ff00::/8"),
        st.ip_addresses(v=4).map(lambda a: ipaddress.IPv6Address(f"::ffff:{a}")),
    )
)
def test_no_local_address_counts_as_public(address: ipaddress._BaseAddress) -> None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        assert is_public_address(str(address)) == is_public_address(str(address.ipv4_mapped))
    else:
        assert not is_public_address(str(address))


def test_a_name_with_one_local_address_among_public_ones_is_refused() -> None:
    def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.1.2.3"]

    with pytest.raises(EndpointRefused):
        checked_address("acme.syncromsp.com", 443, allow_local=False, resolve=resolve)
    assert checked_address("acme.syncromsp.com", 443, allow_local=True, resolve=resolve)


def test_the_connection_goes_to_the_checked_address_under_the_checked_name(
    httpserver: HTTPServer,
) -> None:
    """The name is resolved once, by the check; the socket goes to that address, and the
    server still sees the name (Host header; for https, SNI and the certificate)."""
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    session = cookieless_session()
    session.mount("http://", PinnedAddressAdapter(allow_local=True, resolve=resolve))
    httpserver.expect_request("/api/v1/me").respond_with_json({"ok": True})

    answer = session.get(f"http://acme.syncromsp.com:{httpserver.port}/api/v1/me", timeout=5)

    assert answer.json() == {"ok": True}
    assert asked == ["acme.syncromsp.com"]
    assert httpserver.log[0][0].headers["Host"] == f"acme.syncromsp.com:{httpserver.port}"
    assert answer.url == f"http://acme.syncromsp.com:{httpserver.port}/api/v1/me"


def test_the_pinned_connection_refuses_a_local_address_without_the_setting(
    httpserver: HTTPServer,
) -> None:
    session = cookieless_session()
    session.mount("https://", PinnedAddressAdapter(allow_local=False))
    with pytest.raises(EndpointRefused):
        session.get(f"https://localhost:{httpserver.port}/", timeout=5)
    assert httpserver.log == []


def test_parse_refuses_non_strings_and_empty_hosts() -> None:
    for raw in ("https:///path", "https://", "https://:443/"):
        with pytest.raises(EndpointRefused):
            parse_outbound_url(raw)


@pytest.fixture(scope="module")
def tls_psa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HTTPServer, str]]:
    """An https server on 127.0.0.1 whose certificate names acme.syncromsp.com only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acme.syncromsp.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("acme.syncromsp.com")]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.expect_request("/api/v1/me").respond_with_json({"ok": True})
    server.start()
    yield server, str(folder / "cert.pem")
    server.stop()


def _pinned_to_localhost() -> requests.Session:
    session = cookieless_session()
    session.mount(
        "https://", PinnedAddressAdapter(allow_local=True, resolve=lambda host, port: ["127.0.0.1"])
    )
    return session


def test_tls_to_the_pinned_address_still_verifies_the_certificate_for_the_name(
    tls_psa: tuple[HTTPServer, str],
) -> None:
    server, ca = tls_psa
    answer = _pinned_to_localhost().get(
        f"https://acme.syncromsp.com:{server.port}/api/v1/me", verify=ca, timeout=5
    )
    assert answer.json() == {"ok": True}


def test_tls_to_the_pinned_address_refuses_a_certificate_for_another_name(
    tls_psa: tuple[HTTPServer, str],
) -> None:
    server, ca = tls_psa
    with pytest.raises(requests.exceptions.SSLError):
        _pinned_to_localhost().get(
            f"https://other.syncromsp.com:{server.port}/api/v1/me", verify=ca, timeout=5
        )
