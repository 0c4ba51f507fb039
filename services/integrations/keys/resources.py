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
    def post(self, args: dict[str, Any]) -> services.RewrapResult:
        """Re-wrap one batch of data keys onto the active key (call until remaining is 0)"""
        return services.rewrap_batch(
            session=db_session(),
            vault=current_vault(),
            context=request_access_context(purpose="rewrap"),
            **args,
        )
