"""Container HEALTHCHECK: exit 0 when the service on $PORT answers its probe path with 200."""

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    """Probe the local service once; any error or non-200 answer counts as unhealthy."""
    port = os.environ.get("PORT", "8000")
    path = os.environ.get("HEALTHCHECK_PATH", "/healthz")
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


if __name__ == "__main__":
    sys.exit(main())
