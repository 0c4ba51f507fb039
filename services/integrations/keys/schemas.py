"""Marshmallow schemas of key versions and rewrap batches."""

from __future__ import annotations

import marshmallow as ma

from shared.web import Flag, Int32, Name, Schema


class KeyVersionSchema(Schema):
    kek_id = ma.fields.String()
    active = Flag()
    in_keyring = Flag()
    credentials = ma.fields.Integer(metadata={"description": "credentials wrapped by this key"})


class RewrapArgsSchema(Schema):
    """A rewrap names the key it moves data keys onto: an empty POST must not start real work."""

    target_kek_id = Name(
        required=True,
        max=100,
        metadata={"description": "the active key version (GET /v1/vault/keys); another is 409"},
    )
    batch_size = Int32(load_default=100, minimum=1, maximum=1000)
    dry_run = Flag(load_default=False)


class RewrapResultSchema(Schema):
    rewrapped = ma.fields.Integer()
    remaining = ma.fields.Integer()
    active_kek_id = ma.fields.String()
    dry_run = Flag()
