"""Local stand-ins for MSP360's provider API and Syncro's ticket API, written from their
documented contracts (reference/psa.md sections 1 and 5), not from this project's adapters.

MSP360: `POST /api/Provider/Login {UserName, Password}` answers `{access_token, token_type:
"bearer", expires_in, .issued, .expires}`; every other call needs `Authorization: Bearer`;
`GET /api/Monitoring` (and `/api/Monitoring/{userId}`) lists plan rows with an integer Status
(Success 0, Overdue 1, Error 2, Running 3, Unknown 4, Interrupted 5, UnexpectedlyClosed 6) and
timestamps without an offset. Syncro: tickets under `/api/v1`, string statuses, comments.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STATUS_CODES = {
    "Success": 0,
    "Overdue": 1,
    "Error": 2,
    "Running": 3,
    "Unknown": 4,
    "Interrupted": 5,
    "UnexpectedlyClosed": 6,
}


@dataclass
class FakeMsp360:
    """The provider account: its API login, issued tokens, and the monitoring rows."""

    username: str = "api-user@msp.example"
    password: str = field(default_factory=lambda: f"msp360-pw-{secrets.token_hex(12)}")
    token_lifetime: int = 1_209_599
    rows: list[dict[str, Any]] = field(default_factory=list)
    companies: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    issued: list[str] = field(default_factory=list)
    logins: int = 0
    monitoring_calls: int = 0
    # hostile modes: "garbled", "huge", "always_401", "not_a_list"
    mode: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expire_tokens(self) -> None:
        """Every issued token stops working (what its 14-day expiry does)."""
        with self.lock:
            self.tokens.clear()

    def plan(
        self,
        *,
        company: str,
        computer: str,
        plan: str,
        status: str,
        last_start: str,
        error: str | None = None,
        user_id: str = "4f7c9d2e-0000-4000-8000-000000000001",
    ) -> None:
        """Set (add or replace) the monitoring row of one plan."""
        row = {
            "UserID": user_id,
            "UserName": "backup@acme.example",
            "CompanyName": company,
            "ComputerName": computer,
            "PlanName": plan,
            "BuildVersion": "7.9.4.83",
            "StorageType": "AmazonS3",
            "LastStart": last_start,
            "NextStart": "2026-12-05T01:00:00",
            "Status": STATUS_CODES[status],
            "ErrorMessage": error or "",
            "FilesCopied": 1200,
            "FilesFailed": 3 if error else 0,
            "DataCopied": 73_400_320,
            "TotalData": 1_073_741_824,
            "Duration": "15 second(s)",
        }
        with self.lock:
            self.rows = [
                r
                for r in self.rows
                if (r["UserID"], r["ComputerName"], r["PlanName"]) != (user_id, computer, plan)
            ] + [row]


@dataclass
class FakeSyncro:
    """One Syncro subdomain: its API token, tickets and comments."""

    token: str = field(default_factory=lambda: f"syncro-{secrets.token_hex(12)}")
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    # "rate_limited": 429 with a long Retry-After (nothing processed); "broken": 500 after
    # creating the ticket (the caller cannot know whether it exists)
    mode: str | None = None
    next_id: int = 9000
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.next_id += 1
            ticket: dict[str, Any] = {
                "id": self.next_id,
                "number": self.next_id + 10000,
                "subject": body.get("subject"),
                "status": body.get("status") or "New",
                "customer_id": body.get("customer_id"),
                "comments": [],
            }
            if body.get("comment_body"):
                ticket["comments"].append(
                    {"id": 1, "subject": body.get("comment_subject"), "body": body["comment_body"]}
                )
            self.tickets[ticket["id"]] = ticket
            return ticket


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:  # quiet
        return

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self._raw(status, data, "application/json")

    def _raw(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else None

    def _bearer(self) -> str:
        return (self.headers.get("Authorization") or "").removeprefix("Bearer ")

    def do_POST(self) -> None:
        if self.path == "/api/Provider/Login":
            return self._login()
        if self.path.startswith("/hooks/standard/"):  # a Zapier REST hook target
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            with self.server.zapier_lock:
                self.server.zapier.append((self.path, dict(self.headers.items()), raw))
            return self._json(200, {"status": "success"})
        match = re.fullmatch(r"/api/v1/tickets(?:/(\d+)/comment)?", self.path)
        if match:
            return self._syncro_post(match.group(1))
        self._json(404, {"message": "not found"})

    def do_PUT(self) -> None:
        match = re.fullmatch(r"/api/v1/tickets/(\d+)", self.path)
        if not match or self._bearer() != self.server.syncro.token:
            return self._json(401 if match else 404, {"error": "no"})
        body = self._body() or {}
        with self.server.syncro.lock:
            ticket = self.server.syncro.tickets.get(int(match.group(1)))
            if ticket is None:
                return self._json(404, {"error": "not found"})
            ticket["status"] = body.get("status", ticket["status"])
        self._json(200, {"ticket": ticket})

    def do_GET(self) -> None:
        if self.path.startswith("/api/v1/"):
            return self._syncro_get()
        fake = self.server.msp360
        if self._bearer() not in fake.tokens or fake.mode == "always_401":
            return self._json(401, {"Message": "Authorization has been denied for this request."})
        if self.path == "/api/Companies":
            return self._json(200, fake.companies)
        if self.path == "/api/Users":
            return self._json(200, fake.users)
        match = re.fullmatch(r"/api/Monitoring(?:/([0-9a-fA-F-]+))?", self.path)
        if not match:
            return self._json(404, {"Message": "No HTTP resource was found"})
        with fake.lock:
            fake.monitoring_calls += 1
            rows = [r for r in fake.rows if match.group(1) in (None, r["UserID"])]
        self._monitoring(fake, rows)

    def _monitoring(self, fake: FakeMsp360, rows: list[dict[str, Any]]) -> None:
        if fake.mode == "garbled":
            return self._raw(200, b'[{"PlanName": "x", "Status": 2,,, \xff\xfe', "application/json")
        if fake.mode == "not_a_list":
            return self._json(200, {"Message": "An error has occurred."})
        if fake.mode == "huge":
            filler = "A" * 5_000_000
            huge = [dict(rows[0], PlanName=filler, ErrorMessage=filler)] if rows else []
            many: list[Any] = [{"PlanName": "", "Status": n} for n in range(20_000)]
            many += [n for n in range(10_000)] + [None, "x", [1, 2]]
            return self._json(200, rows + huge + many)
        self._json(200, rows)

    def _login(self) -> None:
        fake = self.server.msp360
        body = self._body() or {}
        if (body.get("UserName"), body.get("Password")) != (fake.username, fake.password):
            return self._json(400, {"error": "invalid_grant", "error_description": "bad login"})
        token = secrets.token_urlsafe(32)
        with fake.lock:
            fake.logins += 1
            fake.tokens.add(token)
            fake.issued.append(token)
        self._json(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": fake.token_lifetime,
                ".issued": "Fri, 04 Dec 2026 17:00:00 GMT",
                ".expires": "Fri, 18 Dec 2026 17:00:00 GMT",
            },
        )

    def _syncro_post(self, ticket_id: str | None) -> None:
        syncro = self.server.syncro
        if self._bearer() != syncro.token:
            return self._json(401, {"error": "bad token"})
        body = self._body() or {}
        if syncro.mode == "rate_limited":
            self.send_response(429)
            self.send_header("Retry-After", "600")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if ticket_id is None:
            if not body.get("subject"):
                return self._json(422, {"errors": {"subject": ["can't be blank"]}})
            created = syncro.create(body)
            if syncro.mode == "broken":
                return self._json(500, {"error": "internal error"})
            return self._json(200, {"ticket": created})
        with syncro.lock:
            ticket = syncro.tickets.get(int(ticket_id))
            if ticket is None:
                return self._json(404, {"error": "not found"})
            comment = {"id": len(ticket["comments"]) + 1, **body}
            ticket["comments"].append(comment)
        self._json(200, {"comment": comment})

    def _syncro_get(self) -> None:
        syncro = self.server.syncro
        if self._bearer() != syncro.token:
            return self._json(401, {"error": "bad token"})
        if self.path == "/api/v1/tickets/settings":
            return self._json(200, {"ticket_status_list": ["New", "Resolved"]})
        match = re.fullmatch(r"/api/v1/tickets/(\d+)", self.path)
        ticket = syncro.tickets.get(int(match.group(1))) if match else None
        if ticket is None:
            return self._json(404, {"error": "not found"})
        self._json(200, {"ticket": ticket})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    msp360: FakeMsp360
    syncro: FakeSyncro
    zapier: list[tuple[str, dict[str, str], bytes]]
    zapier_lock: threading.Lock


@dataclass
class Fakes:
    """The fakes on one loopback port (each answers only its own paths); `zapier` holds every
    REST hook delivery received: (path, headers, raw body)."""

    url: str
    msp360: FakeMsp360
    syncro: FakeSyncro
    zapier: list[tuple[str, dict[str, str], bytes]]


@contextmanager
def running_fakes() -> Iterator[Fakes]:
    """Start the fake MSP360 and Syncro on a free loopback port."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.msp360, server.syncro = FakeMsp360(), FakeSyncro()
    server.zapier, server.zapier_lock = [], threading.Lock()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        yield Fakes(url, server.msp360, server.syncro, server.zapier)
    finally:
        server.shutdown()
        server.server_close()
