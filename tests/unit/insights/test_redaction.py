"""Secret redaction of free text and JSON payloads."""

from __future__ import annotations

import pytest

from shared.redaction import REDACTED, is_secret_key, redact_json, redact_text

SECRET_TEXTS = [
    # (text, the secret that must disappear)
    ("Invoke-Sqlcmd -ServerInstance db01 -Username sa -Password 'Hunter2!' -Query x", "Hunter2!"),
    ("New-ADUser -Name bob -AccountPassword Winter2024", "Winter2024"),
    ("net use \\\\fs01\\share S3cret! /user:CORP\\admin", "S3cret!"),
    ("net user bob Winter2024 /add", "Winter2024"),
    (
        'curl -H "Authorization: Bearer abcdefghijklmnop" https://api.example.com',
        "abcdefghijklmnop",
    ),
    ("Authorization: Basic YWRtaW46cGFzc3dvcmQ=", "YWRtaW46cGFzc3dvcmQ="),
    ("X-Api-Key: 9f8e7d6c5b4a39281706", "9f8e7d6c5b4a39281706"),
    ("mysql -u root -pS3cr3tPw -h 10.0.0.1", "S3cr3tPw"),
    ("mysqldump --password=S3cr3tPw app", "S3cr3tPw"),
    ("git clone https://bob:tok3nvalue@git.example.com/x/y", "tok3nvalue"),
    ("psql postgresql://app:pw123456@db:5432/app", "pw123456"),
    ("Server=db;Database=app;User Id=sa;Password=P@ssw0rd;Encrypt=yes", "P@ssw0rd"),
    ("Data Source=db;Initial Catalog=x;Pwd=Qwerty12;", "Qwerty12"),
    ("DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abcDEF123+/==;", "abcDEF123+/=="),
    ("export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
    ("aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ('$env:API_KEY = "abc123xyz"', "abc123xyz"),
    ("set DB_PASSWORD=letmein99", "letmein99"),
    ("sshpass -p hunter2 ssh root@host", "hunter2"),
    ("ConvertTo-SecureString 'Pa55word' -AsPlainText -Force", "Pa55word"),
    ("curl -u admin:secretpw https://x.example.com", "secretpw"),
    ("tool --client-secret=abc987 --token xyz654", "abc987"),
    ("tool --client-secret=abc987 --token xyz654", "xyz654"),
    ("GITHUB_TOKEN ghp_abcdefghijklmnopqrstuvwxyz0123456789 used", "ghp_abcdefghij"),
    ("slack xoxb-1234567890-abcdefghij failed", "xoxb-1234567890"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sflKxwRJSMeKKF2QT4fwpM rejected", "sflKxwRJ"),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEA",
    ),
    ("https://api.example.com/v1?api_key=k3y9999&x=1", "k3y9999"),
    ('{"password": "json-secret-1"}', "json-secret-1"),
]


@pytest.mark.parametrize(("text", "secret"), SECRET_TEXTS)
def test_redact_text_removes_the_secret(text: str, secret: str) -> None:
    redacted = redact_text(text)
    assert secret not in redacted
    assert REDACTED in redacted


HARMLESS_TEXTS = [
    "Get-Service -Name Spooler",
    "Set-ExecutionPolicy -ExecutionPolicy Bypass -Scope Process",
    "New-LocalUser -Name bob -PasswordNeverExpires",
    "systemctl restart nginx.service",
    "robocopy C:\\data \\\\nas01\\backup /MIR /R:3 /W:5",
    "apt-get install -y postgresql-15",
    "ssh admin@10.0.0.5 uptime",
    "[SC] OpenService FAILED 1060: The specified service does not exist as an installed service.",
]


@pytest.mark.parametrize("text", HARMLESS_TEXTS)
def test_redact_text_leaves_ordinary_commands_unchanged(text: str) -> None:
    assert redact_text(text) == text


def test_redact_text_keeps_the_label_so_a_reader_knows_what_was_hidden() -> None:
    assert redact_text("Password=abc;") == f"Password={REDACTED};"
    assert redact_text("-Password abc") == f"-Password {REDACTED}"


@pytest.mark.parametrize(
    "key",
    [
        "Authorization",
        "api_key",
        "apiKey",
        "X-Api-Key",
        "secret",
        "client_secret",
        "password",
        "token",
        "access_token",
        "refreshToken",
        "webhook_secret",
        "Cookie",
        "db_password",
    ],
)
def test_secret_keys_are_recognised(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "token_expires_at",
        "token_prefix",
        "session_id",
        "ticket_id",
        "username",
        "status",
        "credential_type",
        "keyboard",
        "passenger",
    ],
)
def test_ordinary_keys_are_not_secret(key: str) -> None:
    assert not is_secret_key(key)


def test_redact_json_masks_nested_secret_values_and_keeps_the_rest() -> None:
    payload = {
        "Authorization": "Bearer abc",
        "ticket": {"id": 12, "subject": "printer", "api_key": "k"},
        "items": [{"password": "p"}, {"note": "connect with https://u:pw999@h/"}],
        "token_expires_at": "2026-01-01",
        "empty_token": None,
    }
    result = redact_json(payload)
    assert result == {
        "Authorization": REDACTED,
        "ticket": {"id": 12, "subject": "printer", "api_key": REDACTED},
        "items": [{"password": REDACTED}, {"note": f"connect with https://u:{REDACTED}@h/"}],
        "token_expires_at": "2026-01-01",
        "empty_token": None,
    }
    assert payload["Authorization"] == "Bearer abc"  # the input is not mutated


def test_redact_json_passes_scalars_through() -> None:
    assert redact_json(5) == 5
    assert redact_json(None) is None
    assert redact_json([1, "x"]) == [1, "x"]
