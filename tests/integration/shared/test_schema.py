"""The migrated MariaDB schema has every table, index, key and check the data model names."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from shared.models import (
    Base,
    Client,
    Infrastructure,
    Tag,
    WorkItem,
    WorkSession,
    infrastructure_tags,
    work_item_tags,
)

EXPECTED_TABLES = {
    "clients",
    "infrastructure",
    "sessions",
    "work_items",
    "tags",
    "work_item_tags",
    "infrastructure_tags",
    "failure_patterns",
    "failure_occurrences",
    "environmental_insights",
    "environmental_examples",
    "insight_events",
    "command_checks",
    "learning_metrics",
    "integration_credentials",
    "credential_access_log",
    "external_integrations",
    "ticket_links",
    "webhook_deliveries",
    "backup_log",
    "backup_schedules",
    "restore_log",
    "api_users",
    "api_tokens",
}

# (table, columns of an index that must exist, in order)
EXPECTED_INDEXES = [
    ("sessions", ("client_id",)),
    ("sessions", ("started_at",)),
    ("environmental_insights", ("client_id",)),
    ("environmental_insights", ("infrastructure_id",)),
    ("environmental_insights", ("insight_category",)),
    ("external_integrations", ("session_id",)),
    ("external_integrations", ("integration_type",)),
    ("external_integrations", ("external_id",)),
    ("integration_credentials", ("integration_name",)),
    ("integration_credentials", ("kek_id",)),
    ("ticket_links", ("session_id",)),
    ("ticket_links", ("client_id",)),
    ("ticket_links", ("integration_type", "ticket_id")),
    ("ticket_links", ("session_id", "integration_type", "ticket_id")),
    ("backup_log", ("backup_type",)),
    ("backup_log", ("backup_completed_at",)),
    ("backup_log", ("verification_status",)),
    ("infrastructure", ("client_id", "hostname")),
    ("learning_metrics", ("metric_date", "client_id")),
    ("api_tokens", ("token_hash",)),
    ("clients", ("name",)),
    ("tags", ("name",)),
    # An idempotency key is unique per caller (the token that sent it), not across callers.
    ("external_integrations", ("idempotency_owner", "idempotency_key")),
    ("failure_patterns", ("fingerprint",)),
    ("webhook_deliveries", ("integration_type", "delivery_id")),
    ("backup_schedules", ("name",)),
    ("api_users", ("username",)),
]

# (table, column, referenced table, delete rule)
EXPECTED_FOREIGN_KEYS = [
    ("infrastructure", "client_id", "clients", "CASCADE"),
    ("infrastructure", "parent_host_id", "infrastructure", "SET NULL"),
    ("sessions", "client_id", "clients", "SET NULL"),
    ("work_items", "session_id", "sessions", "CASCADE"),
    ("work_item_tags", "work_item_id", "work_items", "CASCADE"),
    ("work_item_tags", "tag_id", "tags", "CASCADE"),
    ("infrastructure_tags", "infrastructure_id", "infrastructure", "CASCADE"),
    ("infrastructure_tags", "tag_id", "tags", "CASCADE"),
    ("failure_patterns", "client_id", "clients", "SET NULL"),
    ("failure_patterns", "infrastructure_id", "infrastructure", "SET NULL"),
    ("failure_occurrences", "failure_pattern_id", "failure_patterns", "CASCADE"),
    ("failure_occurrences", "session_id", "sessions", "SET NULL"),
    ("failure_occurrences", "infrastructure_id", "infrastructure", "SET NULL"),
    ("environmental_insights", "client_id", "clients", "CASCADE"),
    ("environmental_insights", "infrastructure_id", "infrastructure", "CASCADE"),
    ("environmental_insights", "merged_into_id", "environmental_insights", "SET NULL"),
    ("environmental_insights", "superseded_by_id", "environmental_insights", "SET NULL"),
    ("environmental_insights", "source_pattern_id", "failure_patterns", "SET NULL"),
    ("environmental_examples", "insight_id", "environmental_insights", "CASCADE"),
    ("environmental_examples", "infrastructure_id", "infrastructure", "SET NULL"),
    ("insight_events", "insight_id", "environmental_insights", "CASCADE"),
    ("insight_events", "failure_occurrence_id", "failure_occurrences", "SET NULL"),
    ("learning_metrics", "client_id", "clients", "CASCADE"),
    ("external_integrations", "session_id", "sessions", "SET NULL"),
    ("external_integrations", "work_item_id", "work_items", "SET NULL"),
    ("ticket_links", "session_id", "sessions", "CASCADE"),
    ("ticket_links", "client_id", "clients", "SET NULL"),
    ("backup_log", "schedule_id", "backup_schedules", "SET NULL"),
    ("api_tokens", "user_id", "api_users", "CASCADE"),
]

EXPECTED_CHECKS = [
    ("infrastructure", "asset_type"),
    ("infrastructure", "status"),
    ("sessions", "status"),
    ("work_items", "category"),
    ("work_items", "status"),
    ("work_items", "priority"),
    ("tags", "category"),
    ("failure_patterns", "pattern_type"),
    ("failure_patterns", "severity"),
    ("environmental_insights", "category"),
    ("environmental_insights", "confidence"),
    ("environmental_insights", "priority_range"),
    ("environmental_insights", "status"),
    ("environmental_examples", "kind"),
    ("insight_events", "event_type"),
    ("command_checks", "verdict"),
    ("command_checks", "outcome"),
    ("integration_credentials", "credential_type"),
    ("integration_credentials", "integration_type"),
    ("credential_access_log", "action"),
    ("external_integrations", "direction"),
    ("ticket_links", "link_type"),
    ("backup_log", "status"),
    ("backup_log", "verification_status"),
    ("backup_schedules", "verify_mode"),
    ("api_users", "role"),
]


def _schema(engine: Engine) -> str:
    return str(engine.url.database)


def test_every_table_of_the_data_model_exists(engine: Engine) -> None:
    with engine.connect() as connection:
        tables = set(
            connection.execute(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": _schema(engine)},
            ).scalars()
        )
    assert tables >= EXPECTED_TABLES


def _indexes(engine: Engine) -> set[tuple[str, tuple[str, ...]]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT table_name, index_name, column_name FROM information_schema.statistics "
                "WHERE table_schema = :s ORDER BY table_name, index_name, seq_in_index"
            ),
            {"s": _schema(engine)},
        ).all()
    grouped: dict[tuple[str, str], list[str]] = {}
    for table, index, column in rows:
        grouped.setdefault((table, index), []).append(column)
    return {(table, tuple(columns)) for (table, _), columns in grouped.items()}


@pytest.mark.parametrize(("table", "columns"), EXPECTED_INDEXES)
def test_named_index_exists_on_mariadb(
    engine: Engine, table: str, columns: tuple[str, ...]
) -> None:
    present = _indexes(engine)
    # An index whose leading columns are these serves the lookup too.
    assert any(t == table and cols[: len(columns)] == columns for t, cols in present)


@pytest.mark.parametrize(("table", "column", "target", "rule"), EXPECTED_FOREIGN_KEYS)
def test_foreign_key_has_the_delete_rule_of_the_data_model(
    engine: Engine, table: str, column: str, target: str, rule: str
) -> None:
    with engine.connect() as connection:
        found = (
            connection.execute(
                text(
                    "SELECT rc.delete_rule FROM information_schema.key_column_usage k "
                    "JOIN information_schema.referential_constraints rc "
                    "  ON rc.constraint_schema = k.constraint_schema "
                    " AND rc.constraint_name = k.constraint_name "
                    "WHERE k.table_schema = :s AND k.table_name = :t AND k.column_name = :c "
                    "  AND k.referenced_table_name = :r"
                ),
                {"s": _schema(engine), "t": table, "c": column, "r": target},
            )
            .scalars()
            .all()
        )
    assert found == [rule]


@pytest.mark.parametrize(("table", "name"), EXPECTED_CHECKS)
def test_check_constraint_exists(engine: Engine, table: str, name: str) -> None:
    with engine.connect() as connection:
        names = set(
            connection.execute(
                text(
                    "SELECT constraint_name FROM information_schema.check_constraints "
                    "WHERE constraint_schema = :s AND table_name = :t"
                ),
                {"s": _schema(engine), "t": table},
            ).scalars()
        )
    assert f"ck_{table}_{name}" in names


def test_models_and_migrations_do_not_drift(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def _host_with_tag(session: Session) -> tuple[Client, Infrastructure, Tag]:
    client = Client(name=f"cascade-{id(session)}")
    host = Infrastructure(client=client, hostname="dc01", asset_type="virtual_machine")
    tag = Tag(name=f"tag-{id(session)}", category="technology")
    host.tags.append(tag)
    session.add_all([client, host, tag])
    session.flush()
    return client, host, tag


def _junction_rows(session: Session, table: object, column: str, value: str) -> int:
    return len(
        session.execute(
            text(f"SELECT 1 FROM {table} WHERE {column} = :v"),
            {"v": value},
        ).all()
    )


def test_deleting_a_host_removes_its_tag_links(db_session: Session) -> None:
    _, host, tag = _host_with_tag(db_session)
    db_session.execute(text("DELETE FROM infrastructure WHERE id = :id"), {"id": host.id})
    assert _junction_rows(db_session, infrastructure_tags.name, "tag_id", tag.id) == 0


def test_deleting_a_tag_removes_its_work_item_links(db_session: Session) -> None:
    client, _, tag = _host_with_tag(db_session)
    work_session = WorkSession(client_id=client.id, title="patching")
    item = WorkItem(session=work_session, category="maintenance", title="patch dc01")
    item.tags.append(tag)
    db_session.add_all([work_session, item])
    db_session.flush()
    db_session.execute(text("DELETE FROM tags WHERE id = :id"), {"id": tag.id})
    assert _junction_rows(db_session, work_item_tags.name, "work_item_id", item.id) == 0


def test_deleting_a_client_cascades_to_hosts_and_clears_sessions(db_session: Session) -> None:
    client, host, _ = _host_with_tag(db_session)
    work_session = WorkSession(client_id=client.id, title="audit")
    db_session.add(work_session)
    db_session.flush()
    db_session.execute(text("DELETE FROM clients WHERE id = :id"), {"id": client.id})
    hosts_left = db_session.scalar(
        text("SELECT COUNT(*) FROM infrastructure WHERE id = :id"), {"id": host.id}
    )
    session_client = db_session.scalar(
        text("SELECT client_id FROM sessions WHERE id = :id"), {"id": work_session.id}
    )
    assert (hosts_left, session_client) == (0, None)


@pytest.mark.parametrize(
    ("statement", "params"),
    [
        (
            "INSERT INTO tags (id, name, category, created_at) VALUES (UUID(), :n, 'nonsense', NOW())",
            {"n": "bad-tag"},
        ),
        (
            "INSERT INTO api_users (id, username, role, is_active, created_at, updated_at) "
            "VALUES (UUID(), :n, 'overlord', 1, NOW(), NOW())",
            {"n": "bad-user"},
        ),
        (
            "INSERT INTO backup_schedules (id, name, backup_type, cron_expression, timezone, storage, "
            "compression, verify_mode, keep_daily, keep_weekly, keep_monthly, is_enabled, created_at, "
            "updated_at) VALUES (UUID(), :n, 'hourly', '* * * * *', 'UTC', 'local', 'zstd', 'none', "
            "1, 1, 1, 1, NOW(), NOW())",
            {"n": "bad-schedule"},
        ),
    ],
)
def test_check_constraints_reject_values_outside_the_enum(
    db_session: Session, statement: str, params: dict[str, str]
) -> None:
    with pytest.raises((IntegrityError, OperationalError)):
        db_session.execute(text(statement), params)


def test_insight_priority_outside_one_to_ten_is_rejected(db_session: Session) -> None:
    client, _, _ = _host_with_tag(db_session)
    with pytest.raises((IntegrityError, OperationalError)):
        db_session.execute(
            text(
                "INSERT INTO environmental_insights (id, client_id, insight_category, title, "
                "description, confidence_level, priority, status, verification_count, valid_from, "
                "created_at, updated_at) VALUES (UUID(), :c, 'security', 't', 'd', 'likely', 11, "
                "'active', 0, NOW(), NOW(), NOW())"
            ),
            {"c": client.id},
        )
