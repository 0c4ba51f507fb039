"""What the local PSA server of the ticket and webhook tests is: secrets, paths, names."""

from __future__ import annotations

from tests.integration.integrations.vault_secrets import new_secret

SYNCRO_TOKEN = new_secret("syncro-token")
AUTOTASK_SECRET = new_secret("autotask-secret")
CW_PRIVATE_KEY = new_secret("cw-private")
CW_LOGIN = "acme+PUBKEY"
CW_API = "/v4_6_release/apis/3.0"
AT_API = "/ATServicesRest/V1.0"
# Sorts before the vault tests' credentials, so it is the type's default credential.
NAME_PREFIX = "0-psa-"
