"""A database administrator's attacks on the access log, done with SQL on MariaDB: each is
named by `verify` (the chain, the rows), and none lets a reveal build on a rewound chain."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from services.integrations.cli import integrations
from tests.integration.integrations.vault_support import AUDIT_KEY, KEYS

pytest_plugins = ["tests.integration.integrations.audit_tampering"]

if TYPE_CHECKING:  # imported by pytest_plugins first, so its asserts are rewritten
    from tests.integration.integrations.audit_tampering import Vault

MakeVault = Callable[..., "Vault"]


def _revealed_three_times(vault: Vault) -> dict[str, Any]:
    made = vault.create()
    for _ in range(3):
        assert vault.reveal(made["id"]).status_code == 200
    return made


def _checkpoint(vault: Vault, monkeypatch: Any) -> None:
    """What the service does every N appends or T minutes, on demand from the CLI."""
    monkeypatch.setenv("DATABASE_URL", vault.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("VAULT_KEYS", KEYS)
    monkeypatch.setenv("VAULT_AUDIT_KEY", AUDIT_KEY)
    monkeypatch.setenv("AUDIT_CHECKPOINT_FILE", str(vault.checkpoint_file))
    result = CliRunner().invoke(integrations, ["checkpoint"])
    assert result.exit_code == 0, result.output


def _kinds(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {finding["kind"]: finding for finding in report["findings"]}


def test_deleting_the_newest_rows_and_setting_the_head_back_is_found_and_stops_reveals(
    audit_vault: MakeVault, monkeypatch: Any
) -> None:
    vault = audit_vault()
    made = _revealed_three_times(vault)
    _checkpoint(vault, monkeypatch)
    rows = vault.log(made["id"])  # created, revealed x3: positions 1..4
    kept = rows[1]
    vault.sql("DELETE FROM credential_access_log WHERE chain = :c AND seq > :s", c=kept.chain, s=2)
    vault.sql(
        "UPDATE credential_audit_head SET seq = :s, last_hash = :h WHERE id = :c",
        s=kept.seq,
        h=kept.row_hash,
        c=kept.chain,
    )
    report = vault.verify()
    assert not report["ok"]
    assert report["broken_chain"] == kept.chain
    assert _kinds(report)["head-forged"]["chain"] == kept.chain
    missing = _kinds(report)["rows-missing"]
    assert (missing["chain"], missing["from_seq"], missing["to_seq"]) == (kept.chain, 3, 4)
    answer = vault.reveal(made["id"])
    assert answer.status_code == 500
    assert made["_sent"]["api_key"] not in answer.get_data(as_text=True)
    assert len(vault.log(made["id"])) == 2  # nothing was built on the rewound head


def test_a_whole_chain_deleted_rows_and_head_is_named_with_its_rows(
    audit_vault: MakeVault, monkeypatch: Any
) -> None:
    vault = audit_vault()
    made = _revealed_three_times(vault)
    chain = vault.log(made["id"])[0].chain
    _checkpoint(vault, monkeypatch)
    vault.sql("DELETE FROM credential_access_log WHERE chain = :c", c=chain)
    vault.sql("DELETE FROM credential_audit_head WHERE id = :c", c=chain)
    report = vault.verify()
    assert not report["ok"]
    found = _kinds(report)
    assert found["head-missing"]["chain"] == chain
    assert (found["rows-missing"]["from_seq"], found["rows-missing"]["to_seq"]) == (1, 4)
    assert "head row is gone" in found["rows-missing"]["detail"]
    assert found["history-missing"]["credential_id"] == made["id"]


def test_a_whole_chain_emptied_and_its_head_set_to_the_start_is_named_by_the_checkpoint(
    audit_vault: MakeVault, monkeypatch: Any
) -> None:
    """The one head that needs no MAC is position 0: only the checkpoint remembers more."""
    vault = audit_vault()
    made = _revealed_three_times(vault)
    chain = vault.log(made["id"])[0].chain
    _checkpoint(vault, monkeypatch)
    vault.sql("DELETE FROM credential_access_log WHERE chain = :c", c=chain)
    vault.sql(
        "UPDATE credential_audit_head SET seq = 0, last_hash = REPEAT('0', 64), mac = NULL"
        " WHERE id = :c",
        c=chain,
    )
    found = _kinds(vault.verify())
    assert (found["rows-missing"]["chain"], found["rows-missing"]["to_seq"]) == (chain, 4)


def test_reordered_rows_are_found_at_their_position(audit_vault: MakeVault) -> None:
    vault = audit_vault()
    made = _revealed_three_times(vault)
    second, third = vault.log(made["id"])[1:3]
    swap = "UPDATE credential_access_log SET seq = :to WHERE id = :id"
    vault.sql(swap, to=-1, id=second.id)
    vault.sql(swap, to=second.seq, id=third.id)
    vault.sql(swap, to=third.seq, id=second.id)
    report = vault.verify()
    assert not report["ok"]
    assert (report["broken_chain"], report["broken_at_seq"]) == (second.chain, second.seq)


def test_an_older_copy_of_the_head_put_back_over_deleted_rows_is_found_by_the_checkpoint(
    audit_vault: MakeVault, monkeypatch: Any
) -> None:
    """Rows and head consistent again, the head's MAC genuine (copied): only the checkpoint,
    which the database cannot rewrite, still knows the chain was longer."""
    vault = audit_vault()
    made = vault.create()
    old_head = vault.head(made["id"])
    for _ in range(3):
        vault.reveal(made["id"])
    _checkpoint(vault, monkeypatch)
    vault.sql(
        "DELETE FROM credential_access_log WHERE chain = :c AND seq > :s",
        c=old_head["id"],
        s=old_head["seq"],
    )
    vault.sql(
        "UPDATE credential_audit_head SET seq = :seq, last_hash = :last_hash, mac = :mac"
        " WHERE id = :id",
        **old_head,
    )
    report = vault.verify()
    missing = _kinds(report)["rows-missing"]
    assert missing["chain"] == old_head["id"]
    assert (missing["from_seq"], missing["to_seq"]) == (old_head["seq"] + 1, old_head["seq"] + 3)
    assert "checkpoint" in missing["detail"]
    assert report["checkpoint_taken_at"] is not None


def test_an_older_copy_of_the_head_put_back_over_kept_rows_is_found(
    audit_vault: MakeVault,
) -> None:
    vault = audit_vault()
    made = vault.create()
    old_head = vault.head(made["id"])
    vault.reveal(made["id"])
    vault.sql(
        "UPDATE credential_audit_head SET seq = :seq, last_hash = :last_hash, mac = :mac"
        " WHERE id = :id",
        **old_head,
    )
    found = _kinds(vault.verify())
    assert (found["head-rewound"]["chain"], found["head-rewound"]["from_seq"]) == (
        old_head["id"],
        old_head["seq"] + 1,
    )


def test_a_row_rewritten_behind_the_checkpoint_is_named(
    audit_vault: MakeVault, monkeypatch: Any
) -> None:
    vault = audit_vault()
    made = _revealed_three_times(vault)
    _checkpoint(vault, monkeypatch)
    newest = vault.log(made["id"])[-1]
    vault.sql(
        "UPDATE credential_access_log SET row_hash = REPEAT('a', 64) WHERE id = :id", id=newest.id
    )
    found = _kinds(vault.verify())
    assert found["rewritten"]["chain"] == newest.chain
    assert found["rewritten"]["from_seq"] == newest.seq


def test_the_checkpoint_goes_to_the_file_and_one_json_log_line_and_either_verifies(
    audit_vault: MakeVault, monkeypatch: Any, capfd: Any
) -> None:
    vault = audit_vault()
    made = _revealed_three_times(vault)
    capfd.readouterr()
    _checkpoint(vault, monkeypatch)
    log_lines = [
        line
        for line in capfd.readouterr().out.splitlines() + capfd.readouterr().err.splitlines()
        if "credential-audit-checkpoint" in line
    ]
    file_lines = vault.checkpoint_file.read_text().splitlines()
    assert len(file_lines) == 1
    recorded = json.loads(file_lines[0])
    chain = vault.log(made["id"])[0].chain
    assert {"chain": chain, "rows": 4, "last_hash": vault.log(made["id"])[-1].row_hash} in (
        recorded["chains"]
    )
    assert len(log_lines) == 1
    for source in [vault.checkpoint_file, log_lines[0]]:
        given = vault.checkpoint_file.parent / "given.jsonl"
        given.write_text(source.read_text() if hasattr(source, "read_text") else source)
        result = CliRunner().invoke(
            integrations, ["verify-audit-chain", "--checkpoint", str(given)]
        )
        assert result.exit_code == 0, result.output
        assert "checkpoint of" in result.output


def test_a_forged_checkpoint_is_refused(audit_vault: MakeVault, monkeypatch: Any) -> None:
    vault = audit_vault()
    _revealed_three_times(vault)
    _checkpoint(vault, monkeypatch)
    signed = json.loads(vault.checkpoint_file.read_text())
    signed["chains"] = [{**c, "rows": 0} for c in signed["chains"]]
    vault.checkpoint_file.write_text(json.dumps(signed) + "\n")
    found = _kinds(vault.verify())
    assert "signature" in found["checkpoint-invalid"]["detail"]
    result = CliRunner().invoke(
        integrations, ["verify-audit-chain", "--checkpoint", str(vault.checkpoint_file)]
    )
    assert result.exit_code == 1 and "signature" in result.output


def test_a_worker_writes_a_checkpoint_after_every_n_appends(audit_vault: MakeVault) -> None:
    vault = audit_vault(AUDIT_CHECKPOINT_EVERY="3")
    made = vault.create()
    for _ in range(6):
        with vault.reveal(made["id"]) as answer:  # closing the answer runs the after-work
            assert answer.status_code == 200
    lines = vault.checkpoint_file.read_text().splitlines()
    assert len(lines) >= 2
    assert vault.verify()["ok"]


def test_heads_from_before_their_mac_stop_appends_until_sealed_and_a_broken_chain_stays_unsealed(
    audit_vault: MakeVault, monkeypatch: Any
) -> None:
    """After the upgrade to 0008 a head past position 0 has no MAC: appends to its chain fail
    closed until seal-audit-heads has walked the chain and sealed the head."""
    vault = audit_vault()
    kept, broken = vault.create(), vault.create()
    while vault.head(broken["id"])["id"] == vault.head(kept["id"])["id"]:
        broken = vault.create()
    for made in (kept, broken):
        vault.sql(
            "UPDATE credential_audit_head SET mac = NULL WHERE id = :c",
            c=vault.head(made["id"])["id"],
        )
    vault.sql(
        "UPDATE credential_access_log SET purpose = 'edited' WHERE credential_id = :id",
        id=broken["id"],
    )
    assert vault.reveal(kept["id"]).status_code == 500
    _checkpoint(vault, monkeypatch)  # sets the CLI's environment too
    result = CliRunner().invoke(integrations, ["seal-audit-heads"])
    assert result.exit_code == 0, result.output
    assert f"[{vault.head(kept['id'])['id']}]" in result.output
    assert vault.head(kept["id"])["mac"] is not None
    assert vault.head(broken["id"])["mac"] is None
    assert vault.reveal(kept["id"]).status_code == 200
    assert vault.reveal(broken["id"]).status_code == 500


_SHARED: dict[int, Vault] = {}


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(reveals=st.integers(min_value=1, max_value=5), data=st.data())
def test_any_cut_with_a_genuine_older_head_put_back_is_named_by_the_checkpoint(
    audit_vault: MakeVault, monkeypatch: Any, reveals: int, data: st.DataObject
) -> None:
    vault = _SHARED.setdefault(id(audit_vault), audit_vault())
    made = vault.create()
    heads = [vault.head(made["id"])]
    for _ in range(reveals):
        vault.reveal(made["id"])
        heads.append(vault.head(made["id"]))
    _checkpoint(vault, monkeypatch)
    older = data.draw(st.sampled_from(heads[:-1]), label="head put back")
    chain, end = older["id"], heads[-1]["seq"]
    with vault.engine.connect() as connection:
        cut = [
            dict(r._mapping)
            for r in connection.execute(
                text("SELECT * FROM credential_access_log WHERE chain = :c AND seq > :s"),
                {"c": chain, "s": older["seq"]},
            )
        ]
    vault.sql(
        "DELETE FROM credential_access_log WHERE chain = :c AND seq > :s", c=chain, s=older["seq"]
    )
    put_back = "UPDATE credential_audit_head SET seq = :seq, last_hash = :last_hash, mac = :mac WHERE id = :id"
    vault.sql(put_back, **older)
    try:
        missing = _kinds(vault.verify())["rows-missing"]
        assert (missing["chain"], missing["from_seq"], missing["to_seq"]) == (
            chain,
            older["seq"] + 1,
            end,
        )
    finally:  # the next example starts from the chain the checkpoint recorded
        columns = ", ".join(cut[0])
        values = ", ".join(f":{c}" for c in cut[0])
        vault.sql(put_back, **heads[-1])
        with vault.engine.begin() as connection:
            connection.execute(
                text(f"INSERT INTO credential_access_log ({columns}) VALUES ({values})"), cut
            )
    assert vault.verify()["ok"]


def test_checkpoints_kept_in_an_s3_bucket_name_the_rows_cut(
    audit_vault: MakeVault, monkeypatch: Any
) -> None:
    import boto3

    from tests.moto_server import FAKE_CREDENTIALS, moto_server

    with moto_server() as endpoint:
        for name, value in FAKE_CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
            Bucket="audit"
        )
        s3 = {
            "AUDIT_CHECKPOINT_FILE": "",
            "AUDIT_CHECKPOINT_S3_BUCKET": "audit",
            "AUDIT_CHECKPOINT_S3_ENDPOINT_URL": endpoint,
            "AWS_REGION": "us-east-1",
        }
        vault = audit_vault(**s3)
        made = vault.create()
        old_head = vault.head(made["id"])
        for _ in range(3):
            vault.reveal(made["id"])
        _checkpoint(vault, monkeypatch)  # the CLI's environment (this one to the file)
        for name, value in s3.items():
            monkeypatch.setenv(name, value)
        assert CliRunner().invoke(integrations, ["checkpoint"]).exit_code == 0
        vault.sql(
            "DELETE FROM credential_access_log WHERE chain = :c AND seq > :s",
            c=old_head["id"],
            s=old_head["seq"],
        )
        vault.sql(
            "UPDATE credential_audit_head SET seq = :seq, last_hash = :last_hash, mac = :mac"
            " WHERE id = :id",
            **old_head,
        )
        report = vault.verify()
        missing = _kinds(report)["rows-missing"]
        assert (missing["chain"], missing["from_seq"], missing["to_seq"]) == (old_head["id"], 2, 4)
        result = CliRunner().invoke(integrations, ["verify-audit-chain"])
        assert result.exit_code == 1 and "rows 2..4 are missing" in result.output
    assert len(vault.checkpoint_file.read_text().splitlines()) == 1  # only the first


def test_a_checkpoint_is_due_after_n_appends_or_t_minutes_with_an_append_never_idle(
    monkeypatch: Any,
) -> None:
    from services.integrations.access_log import checkpoint_schedule
    from services.integrations.access_log.chain import APPENDS

    clock = [1000.0]
    monkeypatch.setattr(checkpoint_schedule.time, "monotonic", lambda: clock[0])
    schedule = checkpoint_schedule.CheckpointSchedule(
        every=3, interval=600.0, sinks=(), appends_at_last=APPENDS.count, last_at=clock[0]
    )
    clock[0] += 3600
    assert not schedule.take_if_due()  # an hour without an append: nothing to record
    APPENDS.note()
    assert schedule.take_if_due()  # one append and T passed
    assert not schedule.take_if_due()
    APPENDS.note()
    APPENDS.note()
    assert not schedule.take_if_due()
    APPENDS.note()
    assert schedule.take_if_due()  # N appends, however soon
