"""A PITR drill through the service records the achieved RPO (one test: it builds throwaway clusters)."""

from __future__ import annotations

from recovery import services


def test_pitr_drill__passes_and_records_the_achieved_rpo(target, system_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        drill = services.request_drill(target=target, kind="pitr", actor=system_user, reason="PITR rehearsal")
    drill.refresh_from_db()

    assert drill.status == "passed", drill.report_markdown
    assert drill.achieved_rpo_seconds is not None and 0 <= drill.achieved_rpo_seconds < 300
    assert drill.evidence["achieved_rpo_seconds"] == drill.achieved_rpo_seconds
    assert drill.evidence["cleaned_up"] is True
    assert {v["layer"] for v in drill.verdicts} == {
        "base_backup", "wal_archive", "recovery", "rows_before_target", "rows_after_target", "rpo"}
    assert "Achieved RPO" in drill.report_markdown and "PITR rehearsal" in drill.report_markdown
