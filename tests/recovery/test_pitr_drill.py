"""Point-in-time recovery drills in throwaway clusters: exact to the target, and never hanging."""

from __future__ import annotations

import json
from dataclasses import asdict

import psycopg
import pytest

from recovery.engine.cluster import ThrowawayCluster
from recovery.engine.pitr import TARGET_NOT_REACHED, default_beyond_archive_target, run_pitr_drill


def test_target_between_two_batches__rows_before_present_rows_after_absent() -> None:
    evidence = run_pitr_drill(rows_before=15, rows_after=15, rpo_objective_seconds=5)

    assert evidence.passed, evidence.report_markdown
    assert {v.layer: v.status for v in evidence.verdicts} == dict.fromkeys(
        ["base_backup", "wal_archive", "recovery", "rows_before_target", "rows_after_target", "rpo"], "pass"
    )
    assert (evidence.recovered_before_target, evidence.recovered_after_target) == (25, 0)
    assert evidence.achieved_rpo_seconds is not None and 0 <= evidence.achieved_rpo_seconds < 5
    assert evidence.last_replayed_at is not None and evidence.last_replayed_at <= evidence.target_time
    assert evidence.cleaned_up
    assert json.loads(json.dumps(asdict(evidence)))["achieved_rpo_seconds"] == evidence.achieved_rpo_seconds
    assert "achieved RPO" in evidence.report_markdown


def test_target_beyond_the_archived_wal__fails_with_a_clear_verdict_not_a_hang() -> None:
    evidence = run_pitr_drill(target_time=default_beyond_archive_target(), timeout_seconds=120)

    recovery = evidence.verdict("recovery")
    assert recovery.status == "fail"
    assert TARGET_NOT_REACHED in recovery.summary
    assert "the archive reaches the commit at" in recovery.summary
    assert evidence.verdict("rows_before_target").status == "skipped"
    assert not evidence.passed
    assert evidence.total_seconds < 60
    assert evidence.cleaned_up
    assert TARGET_NOT_REACHED in evidence.report_markdown


def test_drill_timeout_shorter_than_the_setup__fails_quickly_and_cleans_up() -> None:
    evidence = run_pitr_drill(timeout_seconds=0.5)

    assert not evidence.passed
    assert any("timed out" in v.summary or "timeout" in v.summary for v in evidence.verdicts)
    assert evidence.total_seconds < 30
    assert evidence.cleaned_up


def test_throwaway_cluster__archives_wal_and_is_gone_after_exit() -> None:
    with ThrowawayCluster() as cluster:
        root, dsn = cluster.root, cluster.dsn()
        with cluster.connect() as conn:
            settings: dict[str, str] = dict(
                conn.execute("SELECT name, setting FROM pg_settings WHERE name LIKE 'archive_mode'"))
        segment = cluster.switch_wal_and_wait_archived()
        assert (cluster.archive_dir / segment).is_file()

    assert settings == {"archive_mode": "on"}
    assert root is not None and not root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn)
