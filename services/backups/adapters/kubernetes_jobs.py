"""Creating a Kubernetes Job from inside a pod: plain HTTPS with the service-account token.

The in-cluster configuration every client library reads: the API server at
https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, the token, CA certificate and
namespace in the service-account folder. The token is read on every call: the kubelet rotates
projected tokens.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from shared.client import cookieless_session
from shared.redaction import redact_text


class JobNotCreated(Exception):
    """The Job was not created; the message says why (never the token)."""


@dataclass(frozen=True)
class InClusterApi:
    """Where the API server is and how this pod proves who it is."""

    base_url: str
    serviceaccount_dir: Path

    @classmethod
    def from_environment(
        cls, serviceaccount_dir: str, environ: Mapping[str, str] | None = None
    ) -> InClusterApi:
        """The pod's own API server, from the variables Kubernetes sets in every container."""
        source = os.environ if environ is None else environ
        host = source.get("KUBERNETES_SERVICE_HOST")
        if not host:
            raise JobNotCreated("not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST is unset")
        port = source.get("KUBERNETES_SERVICE_PORT") or "443"
        host = f"[{host}]" if ":" in host else host  # an IPv6 service address
        return cls(f"https://{host}:{port}", Path(serviceaccount_dir))

    def _read(self, name: str) -> str:
        try:
            return (self.serviceaccount_dir / name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise JobNotCreated(
                f"service-account {name} unreadable in {self.serviceaccount_dir}: {exc.strerror}"
                " (is automountServiceAccountToken on for this pod?)"
            ) from None

    def namespace(self) -> str:
        """The namespace this pod runs in (its Role allows Jobs there only)."""
        return self._read("namespace")

    def token(self) -> str:
        """The current service-account token."""
        return self._read("token")

    @property
    def ca_file(self) -> str:
        """The CA that signed the API server's certificate."""
        return str(self.serviceaccount_dir / "ca.crt")


class KubernetesJobs:
    """batch/v1 Jobs in this pod's namespace."""

    def __init__(self, api: InClusterApi, *, timeout: tuple[float, float] = (2.0, 10.0)) -> None:
        self._api = api
        self._timeout = timeout
        self._http: requests.Session = cookieless_session()

    def namespace(self) -> str:
        """The namespace Jobs are created in."""
        return self._api.namespace()

    def create(self, manifest: dict[str, Any]) -> str:
        """Create the Job; its name. One that already exists (a retried call) is that Job."""
        namespace = manifest["metadata"]["namespace"]
        url = f"{self._api.base_url}/apis/batch/v1/namespaces/{namespace}/jobs"
        headers = {"Authorization": f"Bearer {self._api.token()}", "Accept": "application/json"}
        try:
            answer = self._http.post(
                url, json=manifest, headers=headers, timeout=self._timeout, verify=self._api.ca_file
            )
        except requests.RequestException as exc:
            raise JobNotCreated(f"Kubernetes API unreachable ({type(exc).__name__})") from None
        name: str = manifest["metadata"]["name"]
        already = answer.status_code == 409 and _reason(answer) == "AlreadyExists"
        if answer.status_code == 201 or already:
            return name
        raise JobNotCreated(f"Kubernetes API answered {answer.status_code}: {_message(answer)}")


def _status(answer: requests.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _reason(answer: requests.Response) -> str:
    return str(_status(answer).get("reason") or "")


def _message(answer: requests.Response) -> str:
    """The API server's Status message (what RBAC or validation refused), bounded."""
    message = str(_status(answer).get("message") or answer.reason or "no reason given")
    return redact_text(message)[:300]
