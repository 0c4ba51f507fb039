"""Webhook authentication rules by themselves: HMACs, URL tokens, the key_url allow-list."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from services.integrations.webhooks.payloads import delivery_id, ticket_change
from services.integrations.webhooks.signatures import (
    autotask_signature_valid,
    connectwise_signature_valid,
    key_url_allowed,
    tokens_match,
)

ORIGINS = "https://*.myconnectwise.net,https://api-staging.connectwisedev.com,http://10.0.0.5:8080"


def sha1_header(secret: str, body: bytes) -> str:
    return (
        "sha1=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest()).decode()
    )


def test_autotask_accepts_its_documented_signature_shape():
    body = b'{"Id":1}'
    assert autotask_signature_valid("s3", body, sha1_header("s3", body))


@pytest.mark.parametrize("header", [None, "", "sha256=abc", "sha1=", "sha1=bm9wZQ=="])
def test_autotask_refuses_missing_or_wrong_signatures(header):
    assert not autotask_signature_valid("s3", b'{"Id":1}', header)


def test_autotask_without_a_configured_secret_refuses_everything():
    body = b'{"Id":1}'
    assert not autotask_signature_valid(None, body, sha1_header("", body))


@pytest.mark.parametrize(
    "key_url, allowed",
    [
        ("https://api-na.myconnectwise.net/v4_6_release/system/callbackkey/index.rails?id=1", True),
        ("https://api-staging.connectwisedev.com/v2024_1/callbackkey", True),
        ("http://10.0.0.5:8080/v4_6_release/callbackkey", True),
        ("http://api-na.myconnectwise.net/callbackkey", False),
        ("https://myconnectwise.net.evil.example/callbackkey", False),
        ("https://evil.example/?x=.myconnectwise.net", False),
        ("https://user@api-na.myconnectwise.net/callbackkey", False),
        ("https://api-na.myconnectwise.net:8443/callbackkey", False),
        ("http://169.254.169.254/latest/meta-data/", False),
        ("http://10.0.0.5:8081/", False),
        ("file:///etc/passwd", False),
        ("", False),
    ],
)
def test_connectwise_key_urls_must_come_from_an_allowed_origin(key_url, allowed):
    assert key_url_allowed(key_url, ORIGINS) is allowed


def test_connectwise_signature_uses_the_sha256_of_the_signing_key_as_hmac_key():
    body = b'{"ID":5}'
    digest = hmac.new(hashlib.sha256(b"k").digest(), body, hashlib.sha256).digest()
    header = base64.b64encode(digest).decode()
    assert connectwise_signature_valid(body, header, lambda: "k")
    assert not connectwise_signature_valid(body, header, lambda: "other")
    assert not connectwise_signature_valid(body, header, lambda: None)
    assert not connectwise_signature_valid(body, None, lambda: "k")


@pytest.mark.parametrize(
    "expected, given, ok",
    [
        ("tok", "tok", True),
        ("tok", "TOK", False),
        ("tok", None, False),
        (None, None, False),
        (None, "", False),
        ("", "", False),
    ],
)
def test_url_tokens_compare_exactly_and_unset_means_refuse(expected, given, ok):
    assert tokens_match(expected, given) is ok


def test_delivery_ids_follow_each_vendor():
    assert delivery_id("autotask", {"Guid": "g", "SequenceNumber": 3}, b"", {}) == "g:3"
    assert delivery_id("connectwise", {"MessageId": "m-1"}, b"", {}) == "m-1"
    assert delivery_id("zapier", {}, b"", {"x-delivery-id": "z-9"}) == "z-9"
    assert delivery_id("syncro", {}, b"abc", {}) == "sha256:" + hashlib.sha256(b"abc").hexdigest()


@pytest.mark.parametrize(
    "source, payload, expected",
    [
        ("syncro", {"text": "A Ticket was created\n...", "attributes": {"id": 4}}, ("4", False)),
        ("syncro", {"text": "A Customer was created", "attributes": {"id": 4}}, None),
        ("autotask", {"EntityType": "Ticket", "Id": 9, "Action": "Delete"}, ("9", True)),
        (
            "autotask",
            {"EntityType": "TicketNote", "Id": 3, "Action": "Delete", "Fields": {"TicketID": 9}},
            ("9", False),
        ),
        ("autotask", {"EntityType": "Company", "Id": 9}, None),
        ("connectwise", {"Type": "ticket", "ID": 11, "Action": "deleted"}, ("11", True)),
        ("connectwise", {"Type": "company", "ID": 11}, None),
        ("zapier", {"integration_type": "autotask", "ticket_id": "12"}, ("12", False)),
        ("zapier", {"integration_type": "jira", "ticket_id": "12"}, None),
    ],
)
def test_each_vendor_payload_names_the_changed_ticket(source, payload, expected):
    change = ticket_change(source, payload)
    assert (None if change is None else (change.ticket_id, change.deleted)) == expected
