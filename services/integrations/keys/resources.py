"""HTTP layer of key rotation (admin only)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from services.integrations.keys import services
from services.integrations.keys.schemas import (
    KeyVersionSchema,
    RewrapArgsSchema,
    RewrapResultSchema,
)
from services.integrations.request_context import request_access_context
from services.integrations.vault.current import current_vault
from shared.errors import Conflict
from shared.web import Blueprint, db_session

blp = Blueprint(
    "vault_keys",
    __name__,
    url_prefix="/v1/vault",
    description="Key-encryption-key versions: census, rewrap, retire",
)


@blp.route("/keys")
class KeyVersions(MethodView):
    @blp.requires("admin")
    @blp.response(200, KeyVersionSchema(many=True))
    def get(self) -> list[services.KeyVersion]:
        """How many credentials sit on each key version"""
        return services.key_census(session=db_session(), vault=current_vault())


@blp.route("/keys/<string:kek_id>/retire")
class RetireKey(MethodView):
    @blp.requires("admin")
    @blp.response(200, KeyVersionSchema)
    def post(self, kek_id: str) -> services.KeyVersion:
        """Retire a key version; 409 while it is active or any credential still needs it"""
        return services.retire_key(session=db_session(), vault=current_vault(), kek_id=kek_id)


@blp.route("/rewrap")
class Rewrap(MethodView):
    @blp.requires("admin")
    @blp.arguments(RewrapArgsSchema)
    @blp.response(200, RewrapResultSchema)
    @blp.alt_response(409, description="target_kek_id is not the active key (active_kek_id)")
    def post(self, args: dict[str, Any]) -> services.RewrapResult:
        """Re-wrap one batch of data keys onto the active key (call until remaining is 0)"""
        vault = current_vault()
        _expect_active_key(vault.keyring.active_kek_id, args.pop("target_kek_id"))
        return services.rewrap_batch(
            session=db_session(),
            vault=vault,
            context=request_access_context(purpose="rewrap"),
            **args,
        )


def _expect_active_key(active: str, target: str) -> None:
    # A caller that read the census before another replica's rotation would move every data
    # key onto a key it did not mean; it names the key, and a changed one stops it.
    if target != active:
        raise Conflict(
            f"the active key version is {active}, not {target}: re-read GET /v1/vault/keys",
            active_kek_id=active,
        )
