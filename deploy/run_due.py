"""Scheduler trigger: POST $BACKUPS_URL/v1/schedules/run-due once; exit 0 on a 2xx answer."""

import json
import os
import sys
import urllib.error
import urllib.request
import uuid


def read_token_file(path: str | None) -> str:
    """The token from a mounted secret file, or "" when there is none."""
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def main() -> int:
    """Knock once; the backups service decides what is due and runs each schedule exactly once."""
    base_url = os.environ.get("BACKUPS_URL", "").rstrip("/")
    token = os.environ.get("SCHEDULER_TOKEN") or read_token_file(
        os.environ.get("SCHEDULER_TOKEN_FILE")
    )
    if not base_url.startswith(("http://", "https://")) or not token:
        print(
            "configuration error: BACKUPS_URL and SCHEDULER_TOKEN(_FILE) must be set",
            file=sys.stderr,
        )
        return 2
    request = urllib.request.Request(  # noqa: S310 - the URL scheme is checked above
        f"{base_url}/v1/schedules/run-due",
        method="POST",
        data=b"{}",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "X-Request-ID": f"cron-{uuid.uuid4()}",
        },
    )
    timeout = float(os.environ.get("RUN_DUE_TIMEOUT", "600"))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            print(json.dumps({"status": response.status, "body": response.read(2000).decode()}))
            return 0
    except urllib.error.HTTPError as exc:
        print(json.dumps({"status": exc.code, "body": exc.read(2000).decode()}), file=sys.stderr)
    except (urllib.error.URLError, OSError) as exc:
        print(json.dumps({"error": type(exc).__name__, "detail": str(exc)}), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
