"""Restore drills: an intact backup passes every layer; real damage fails the layer that owns it."""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psycopg
import pytest

from recovery.engine import pgtools
from recovery.engine.backup import BackupInfo, take_backup
from recovery.engine.restore import RestoreDrillEvidence, SmokeQuery, run_restore_drill, verify_database
from tests.recovery.helpers import ADMIN_DSN, SHADOW_PREFIX, create_database, drop_database

pytestmark = pytest.mark.usefixtures("no_leftover_shadows")

SMOKE: list[SmokeQuery | str] = [
    SmokeQuery("customers present", "SELECT count(*) = 200 FROM customers"),
    SmokeQuery(
        "every order has its customer",
        "SELECT NOT EXISTS (SELECT 1 FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE c.id IS NULL)",
    ),
    "SELECT count(*) FROM orders",
]


def drill(backup: BackupInfo, **kwargs: Any) -> RestoreDrillEvidence:
    return run_restore_drill(dump_path=Path(backup.path), admin_dsn=ADMIN_DSN, shadow_prefix=SHADOW_PREFIX, **kwargs)


def sql_tamper(statement: str) -> Callable[[str], None]:
    def tamper(shadow_dsn: str) -> None:
        with psycopg.connect(shadow_dsn, autocommit=True) as conn:
            conn.execute(statement)

    return tamper


def statuses(evidence: RestoreDrillEvidence) -> dict[str, str]:
    return {v.layer: v.status for v in evidence.verdicts}


def test_intact_backup_of_a_dropped_source__every_layer_passes(backup: BackupInfo, source_dsn: str) -> None:
    # The source is gone: the drill can only have used the backup file and its manifest.
    drop_database(pgtools.database_name(source_dsn))

    evidence = drill(backup, smoke_queries=SMOKE)

    assert evidence.passed, evidence.report_markdown
    assert statuses(evidence) == dict.fromkeys(
        ["integrity", "restore", "row_counts", "checksums", "smoke_queries", "recovery_time"], "pass"
    )
    assert evidence.shadow_dropped and evidence.shadow_database.startswith("gov_rec_shadow_")
    assert (evidence.tables, evidence.rows) == (4, 750)
    assert 0 < evidence.recovery_seconds <= evidence.total_seconds
    assert {"integrity", "restore", "row_counts", "smoke_queries", "cleanup"} <= {p.name for p in evidence.phases}
    assert json.loads(json.dumps(asdict(evidence)))["verdicts"][0]["layer"] == "integrity"
    assert "# Restore drill PASSED" in evidence.report_markdown
    assert "every order has its customer" not in evidence.report_markdown  # only failures are listed


def test_flipped_byte_in_the_backup_file__integrity_fails_naming_the_file(backup: BackupInfo, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged" / Path(backup.path).name
    damaged.parent.mkdir()
    shutil.copy(backup.path, damaged)
    shutil.copy(backup.manifest_path, damaged.parent)
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0x01
    damaged.write_bytes(bytes(data))

    evidence = run_restore_drill(dump_path=damaged, admin_dsn=ADMIN_DSN, shadow_prefix=SHADOW_PREFIX)

    integrity = evidence.verdict("integrity")
    assert integrity.status == "fail"
    assert any(str(damaged) in p and "sha256" in p for p in integrity.problems)
    assert evidence.verdict("restore").status == "skipped"
    assert not evidence.passed
    assert str(damaged) in evidence.report_markdown


def test_row_deleted_in_the_shadow__count_and_checksum_fail_naming_the_table(backup: BackupInfo) -> None:
    evidence = drill(backup, tamper=sql_tamper("DELETE FROM orders WHERE id = 42"))

    counts, sums = evidence.verdict("row_counts"), evidence.verdict("checksums")
    assert counts.status == sums.status == "fail"
    assert counts.problems == ["public.orders: row count mismatch: manifest 500, shadow 499"]
    assert len(sums.problems) == 1 and sums.problems[0].startswith("public.orders: checksum mismatch")
    assert evidence.verdict("restore").status == "pass"
    assert not evidence.passed and evidence.tampered


def test_row_changed_in_the_shadow__checksum_fails_naming_the_table_while_counts_pass(backup: BackupInfo) -> None:
    evidence = drill(backup, tamper=sql_tamper("UPDATE customers SET balance = balance + 0.01 WHERE id = 7"))

    assert evidence.verdict("row_counts").status == "pass"
    sums = evidence.verdict("checksums")
    assert sums.status == "fail"
    assert len(sums.problems) == 1 and sums.problems[0].startswith("public.customers: checksum mismatch")
    assert "public.customers: checksum mismatch" in evidence.report_markdown


def test_table_dropped_in_the_shadow__named_as_missing(backup: BackupInfo) -> None:
    evidence = drill(backup, tamper=sql_tamper('DROP TABLE "Audit"."Event Log"'))

    counts = evidence.verdict("row_counts")
    assert counts.status == "fail"
    assert counts.problems == ["Audit.Event Log: table missing in the shadow database (manifest has 50 rows)"]
    assert any(p.startswith("Audit.Event Log: table missing") for p in evidence.verdict("checksums").problems)


def test_smoke_query_false_or_erroring__fails_naming_each_query(backup: BackupInfo) -> None:
    smoke = [
        SmokeQuery("no refunds", "SELECT count(*) FROM orders WHERE total < 0"),
        SmokeQuery("table that is not there", "SELECT count(*) FROM invoices"),
        SmokeQuery("customers present", "SELECT count(*) > 0 FROM customers"),
    ]

    evidence = drill(backup, smoke_queries=smoke)

    verdict = evidence.verdict("smoke_queries")
    assert verdict.status == "fail"
    assert [p.split(":")[0] for p in verdict.problems] == ["no refunds", "table that is not there"]
    assert "returned 0" in verdict.problems[0] and 'relation "invoices" does not exist' in verdict.problems[1]
    assert evidence.verdict("checksums").status == "pass"
    assert evidence.verdict("recovery_time").status == "skipped"


def test_drill_over_its_overall_timeout__stops_and_drops_the_shadow(backup: BackupInfo) -> None:
    evidence = drill(backup, smoke_queries=["SELECT 1 FROM pg_sleep(60)"], timeout_seconds=5)

    assert not evidence.passed
    assert "statement timeout" in evidence.verdict("smoke_queries").problems[0]
    assert evidence.total_seconds < 20
    assert evidence.shadow_dropped


def test_recovery_slower_than_the_objective__recovery_time_fails(backup: BackupInfo) -> None:
    evidence = drill(backup, objective="critical", objectives={"critical": 0.001, "full": 4 * 3600})

    assert evidence.verdict("recovery_time").status == "fail"
    assert "MISSED" in evidence.verdict("recovery_time").summary
    assert {o.name: o.met for o in evidence.objectives} == {"critical": False, "full": True}
    assert not evidence.passed


def test_tamper_hook_raising__shadow_database_still_dropped(backup: BackupInfo) -> None:
    def broken_hook(shadow_dsn: str) -> None:
        raise RuntimeError("hook failed")

    with pytest.raises(RuntimeError, match="hook failed"):
        drill(backup, tamper=broken_hook)


def test_backup_with_the_portable_md5_hash__drill_verifies_with_the_manifests_algorithm(
    source_dsn: str, tmp_path: Path
) -> None:
    info = take_backup(dsn=source_dsn, directory=tmp_path, checksum_algorithm="md5-prefix64")

    intact = drill(info)
    damaged = drill(info, tamper=sql_tamper("UPDATE orders SET note = 'x' WHERE id = 10"))

    assert info.manifest.checksum_algorithm == "md5-prefix64"
    assert intact.passed, intact.report_markdown
    assert damaged.verdict("checksums").problems[0].startswith("public.orders: checksum mismatch")


def test_real_restore_checked_with_verify_database__passes_then_names_a_changed_table(backup: BackupInfo) -> None:
    name = f"gov_rec_real_{secrets.token_hex(4)}"
    create_database(name)
    dsn = pgtools.dsn_with_database(ADMIN_DSN, name)
    try:
        pgtools.run([pgtools.find_binary("pg_restore"), "-d", dsn, backup.path], timeout=120)
        clean = verify_database(dsn=dsn, manifest=backup.manifest, smoke_queries=SMOKE)
        sql_tamper("DELETE FROM orders WHERE id <= 3")(dsn)
        after = verify_database(dsn=dsn, manifest=backup.manifest)
    finally:
        drop_database(name)

    assert [v.status for v in clean] == ["pass", "pass", "pass"]
    assert after[0].problems == ["public.orders: row count mismatch: manifest 500, restored 497"]
    assert after[1].problems[0].startswith("public.orders: checksum mismatch")
