"""Security headers on every answer: no sniffing, framing or referrer; a CSP per kind of page."""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response

# API answers are data, never a page: nothing may load, run or frame them.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI from /docs/assets/ (same origin): its scripts and stylesheet, the document it
# fetches, the icons its stylesheet inlines as data: URIs. Its rendered markdown and code
# highlighting set style attributes, hence 'unsafe-inline' for styles only; the one inline
# script (the page's start-up code) is allowed by its hash, computed from the page sent.
_DOCS_POLICY = (
    "default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
_ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def install_security_headers(app: Flask) -> None:
    """Every response, errors and /docs included, leaves with the headers above."""

    @app.after_request
    def _secure(response: Response) -> Response:
        response.headers.update(_ALWAYS)
        response.headers["Content-Security-Policy"] = content_security_policy(response)
        return response


def content_security_policy(response: Response) -> str:
    """The docs page's policy for an HTML page (hashes of its inline scripts), else the API's."""
    if response.mimetype != "text/html" or response.direct_passthrough:
        return API_POLICY
    scripts = _INLINE_SCRIPT.findall(response.get_data())
    hashes = "".join(f" 'sha256-{_digest(script)}'" for script in scripts)
    return _DOCS_POLICY.format(hashes=hashes)


def _digest(script: bytes) -> str:
    return base64.b64encode(hashlib.sha256(script).digest()).decode("ascii")
