"""A stored credential row by id: what every use of the vault starts from."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared.errors import NotFound
from shared.models import IntegrationCredential


def get_credential(
    *, session: Session, credential_id: str, lock: bool = False
) -> IntegrationCredential:
    """One credential (metadata only until opened); 404 when unknown."""
    # Always re-read from the database (populate_existing): callers decide on fresh values.
    row = session.get(
        IntegrationCredential, credential_id, populate_existing=True, with_for_update=lock or None
    )
    if row is None:
        raise NotFound("credential", credential_id)
    return row
