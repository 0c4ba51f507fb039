"""Marshmallow schemas of learning metrics."""

from __future__ import annotations

import marshmallow as ma

from shared.web import Id, Schema, UtcDate


class MetricsArgsSchema(Schema):
    class Meta(Schema.Meta):
        unknown = ma.EXCLUDE

    client_id = Id(load_default=None)
    since = UtcDate(load_default=None)
    until = UtcDate(load_default=None)


class RollupArgsSchema(Schema):
    day = UtcDate(load_default=None, metadata={"description": "UTC day; default today"})


class MetricDaySchema(Schema):
    metric_date = ma.fields.Date()
    client_id = ma.fields.String(allow_none=True)
    failures_observed = ma.fields.Integer()
    patterns_new = ma.fields.Integer()
    insights_created = ma.fields.Integer()
    insights_confirmed = ma.fields.Integer()
    briefings_served = ma.fields.Integer()
    repeat_failures = ma.fields.Integer()
    checks_served = ma.fields.Integer()
    checks_flagged = ma.fields.Integer()
    checks_wrong = ma.fields.Integer()
    failures_prevented = ma.fields.Integer()


class MetricsReportSchema(Schema):
    client_id = ma.fields.String(allow_none=True)
    since = ma.fields.Date(allow_none=True)
    until = ma.fields.Date(allow_none=True)
    days = ma.fields.List(ma.fields.Nested(MetricDaySchema))
    totals = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    rates = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float(allow_none=True))


class RollupResultSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(MetricDaySchema))
