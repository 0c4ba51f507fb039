"""Marshmallow schemas of key versions and rewrap batches."""

from __future__ import annotations

import marshmallow as ma

from shared.web import Schema


class KeyVersionSchema(Schema):
    kek_id = ma.fields.String()
    active = ma.fields.Boolean()
    in_keyring = ma.fields.Boolean()
    credentials = ma.fields.Integer(metadata={"description": "credentials wrapped by this key"})


class RewrapArgsSchema(Schema):
    batch_size = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))
    dry_run = ma.fields.Boolean(load_default=False)


class RewrapResultSchema(Schema):
    rewrapped = ma.fields.Integer()
    remaining = ma.fields.Integer()
    active_kek_id = ma.fields.String()
    dry_run = ma.fields.Boolean()
