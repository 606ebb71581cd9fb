"""The run engine: phases, continuous checks, auto-abort, rollbacks that always run, the watchdog."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from chaos import engine, services
from chaos.models import Fault, Run, RunLease
from governance.services import system_user

pytestmark = pytest.mark.django_db


def _run(experiment, environment, actor):
    run = services.request_run(experiment=experiment, environment=environment, actor=actor, reason="test drill")
    engine.execute(run.pk, worker="test")
    run.refresh_from_db()
    return run


def test_drill_that_holds__completed_with_phases_probe_values_and_report(make_experiment, preview, maintainer):
    run = _run(make_experiment(hypothesis_tolerance={"type": "range", "range": [0, 1]}), preview, maintainer)
    assert run.status == "completed", run.verdict
    assert [p["name"] for p in run.phases] == ["pre-conditions", "hypothesis before", "method", "rollbacks",
                                                "hypothesis after"]
    assert all(p["started_at"] and p["ended_at"] for p in run.phases)
    [fault] = run.faults.all()
    assert fault.kind == "http_errors" and fault.removed_at is not None  # the rollback removed it
    assert not Fault.objects.active().exists()
    assert "## Phases" in run.report_markdown and "faults in force" in run.report_markdown
    assert not RunLease.objects.filter(run=run).exists()


def test_probe_deviating_during_the_method__aborted_and_faults_gone(make_experiment, preview, maintainer):
    # The hypothesis says "no fault in force": it holds before, deviates as soon as the fault is in.
    run = _run(make_experiment(hypothesis_tolerance=0, pause_after=30), preview, maintainer)
    assert run.status == "aborted" and "deviated" in run.verdict
    method = next(p for p in run.phases if p["name"] == "method")
    assert method["status"] == "aborted" and any(not p["ok"] for p in method["probes"])
    assert not Fault.objects.active().exists()
    assert run.phases[-1]["name"] == "hypothesis after" and run.phases[-1]["status"] == "completed"
    assert (run.ended_at - run.started_at) < timedelta(seconds=20)  # did not sit out the 30 s pause


def test_hypothesis_not_met_before__failed_and_nothing_injected(make_experiment, preview, maintainer):
    run = _run(make_experiment(hypothesis_tolerance=5), preview, maintainer)
    assert run.status == "failed" and "before" in run.verdict
    assert not run.faults.exists()


def test_freeze_window__pre_conditions_refuse_the_drill(make_experiment, service, preview, maintainer):
    from releases.models import FreezeWindow

    now = timezone.now()
    window = FreezeWindow(title="holiday freeze", service=service, environment=preview,
                          starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1))
    window.stamp(actor=maintainer, reason="test")
    window.save()
    run = _run(make_experiment(), preview, maintainer)
    assert run.status == "failed" and "freeze" in run.verdict
    assert not run.faults.exists()


def test_method_action_failing__rollbacks_still_run(make_experiment, preview, maintainer, service):
    experiment = make_experiment()
    definition = dict(experiment.definition)
    definition["method"] = [*definition["method"], {
        "type": "action", "name": "boom",
        "provider": {"type": "python", "module": "govctl.chaos_actions", "func": "no_such_function"}}]
    experiment = services.save_experiment(service=service, key=experiment.key, definition=definition,
                                          actor=maintainer, reason="v2")
    assert experiment.version == 2
    run = _run(experiment, preview, maintainer)
    assert run.status == "failed" and "no_such_function" in run.verdict
    rollbacks = next(p for p in run.phases if p["name"] == "rollbacks")
    assert rollbacks["status"] == "completed"
    assert not Fault.objects.active().exists()


def test_worker_gone__watchdog_interrupts_the_run_and_removes_its_faults(make_experiment, preview, maintainer,
                                                                        service):
    run = services.request_run(experiment=make_experiment(), environment=preview, actor=maintainer, reason="t")
    claimed = services.claim_run(run_id=run.pk, worker="dead-worker", actor=system_user())
    assert claimed is not None
    run = claimed
    fault = services.create_fault(service=service, environment=preview, kind="http_errors", ttl_seconds=600,
                                  actor=system_user(), reason="injected by the dead worker", run=run)
    assert services.watchdog(actor=system_user()) == {"interrupted": 0, "orphans_removed": 0}  # lease still fresh
    RunLease.objects.filter(run=run).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert services.watchdog(actor=system_user())["interrupted"] == 1
    run.refresh_from_db()
    fault.refresh_from_db()
    assert run.status == "interrupted" and fault.removed_at is not None
    assert "watchdog" in fault.removal_reason or "rollback" in fault.removal_reason


def test_production__refused_without_policy_then_needs_a_second_person(make_experiment, production, maintainer,
                                                                      make_user):
    experiment = make_experiment()
    with pytest.raises(ValidationError):
        services.request_run(experiment=experiment, environment=production, actor=maintainer, reason="t")
    services.set_policy(environment=production, allow_chaos=True, actor=maintainer, reason="game day")
    run = services.request_run(experiment=experiment, environment=production, actor=maintainer, reason="game day")
    assert engine.execute(run.pk, worker="w") == f"run #{run.pk} is not pending"  # not approved: never claimed
    with pytest.raises(ValidationError, match="another person"):
        services.approve_run(run=run, actor=maintainer, reason="me again")
    services.approve_run(run=run, actor=make_user("second", "Maintenance admin"), reason="approved")
    run.refresh_from_db()
    assert run.approved_by is not None and run.approved_by.username == "second"


def test_sli_points_during_a_fault__tagged_as_chaos(make_experiment, preview, maintainer, service):
    from chaos import queries
    from observability.models import SliPoint

    minute = timezone.now().replace(second=0, microsecond=0)
    SliPoint.objects.create(service=service, environment=preview, minute=minute, total=100, errors=7)
    SliPoint.objects.create(service=service, environment=preview, minute=minute - timedelta(hours=1), total=50,
                            errors=1)
    run = _run(make_experiment(), preview, maintainer)
    assert run.status == "completed"
    burn = queries.chaos_burn(service=service, environment=preview, start=minute - timedelta(hours=2),
                              end=minute + timedelta(minutes=1))
    assert burn == {"total": 150, "errors": 8, "chaos_total": 100, "chaos_errors": 7}


def test_runs_api__start_poll_and_export(api, make_token, make_experiment, preview):
    make_experiment()
    token = make_token("chaos:run", "chaos:read")
    response = api(token).post("/api/v1/chaos/runs/", {"service": "shop", "experiment": "drill",
                                                       "environment": "preview", "reason": "CI drill"}, format="json")
    assert response.status_code == 202, response.content
    run_id = response.json()["id"]
    assert response.json()["status"] == "pending"
    engine.execute(run_id, worker="test")
    detail = api(token).get(f"/api/v1/chaos/runs/{run_id}/").json()
    assert detail["status"] == "completed" and detail["phases"][2]["name"] == "method"
    assert detail["report_markdown"].startswith(f"# Chaos run #{run_id}")
    exported = api(token).get("/api/v1/chaos/experiments/shop/drill/export").json()
    assert exported["title"] == "test drill" and exported["configuration"]["portal_url"].startswith("http")
    listed = api(token).get("/api/v1/chaos/experiments/", {"service": "shop"}).json()
    assert [(e["key"], e["version"]) for e in listed] == [("drill", 1)]


def test_experiment_import_invalid__400_with_paths(api, make_token, service):
    token = make_token("chaos:run")
    response = api(token).post("/api/v1/chaos/experiments/", {"service": "shop", "key": "bad", "reason": "t",
                                                              "definition": {"title": "x", "method": []}}, format="json")
    assert response.status_code == 400
    assert Run.objects.count() == 0


def test_evidence_section__json_and_markdown_per_run(make_experiment, preview, maintainer):
    import json

    from governance import hooks

    run = _run(make_experiment(), preview, maintainer)
    files = hooks.EVIDENCE_SECTIONS["chaos-runs"](start=run.created_at - timedelta(minutes=1),
                                                  end=timezone.now() + timedelta(minutes=1), service=None)
    assert json.loads(files[f"run-{run.pk}.json"])["status"] == "completed"
    assert files[f"run-{run.pk}.md"].decode().startswith("# Chaos run")
    assert [r["id"] for r in json.loads(files["runs.json"])] == [run.pk]


def test_heartbeat_capabilities__make_a_service_drillable(api, make_token, service, preview):
    from chaos import queries

    assert queries.drillable(service=service)["label"] == "not drillable"
    response = api(make_token("flags:read")).post("/api/v1/flags/heartbeat", {
        "instance_id": "pod-1", "service": "shop", "environment": "preview", "revision": 1,
        "capabilities": ["chaos-http", "chaos-db"]}, format="json")
    assert response.status_code == 204
    assert queries.drillable(service=service) == {"drillable": True, "capabilities": ["chaos-db", "chaos-http"],
                                                  "live_instances": 1, "label": "drillable"}


def test_open_page_alert__refuses_a_drill_in_its_environment_only(make_experiment, service, preview, production,
                                                                 maintainer):
    from governance import services as core
    from observability.models import Slo, SloAlert

    slo = Slo.objects.filter(service=service, environment=production).first()
    core.save_audited(instance=SloAlert(kind="burn_rate", dedupe_key="t", slo=slo, service=service, action="page",
                                        severity="critical", summary="production burning"), actor=maintainer,
                      reason="test")
    assert _run(make_experiment(), preview, maintainer).status == "completed"  # production's page: not preview's
    preview_slo = Slo.objects.filter(service=service, environment=preview).first()
    core.save_audited(instance=SloAlert(kind="burn_rate", dedupe_key="p", slo=preview_slo, service=service,
                                        action="page", severity="critical", summary="preview burning"),
                      actor=maintainer, reason="test")
    run = _run(make_experiment(key="second"), preview, maintainer)
    assert run.status == "failed" and "preview burning" in run.verdict


def test_cron_schedule__starts_a_drill_in_preview_once_per_minute(make_experiment, service, maintainer):
    from chaos import tasks

    experiment = make_experiment()
    services.save_experiment(service=service, key=experiment.key, definition=experiment.definition,
                             schedule_cron="* * * * *", actor=maintainer, reason="every minute")
    assert tasks.start_scheduled_drills() == "started 1 scheduled drill(s)"
    assert tasks.start_scheduled_drills() == "started 0 scheduled drill(s)"  # same minute: once
    [run] = Run.objects.filter(experiment=experiment)
    assert run.environment.slug == "preview" and run.status == "pending"


def test_drill_not_completed__alerts_the_channels(make_experiment, preview, maintainer, caplog,
                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = _run(make_experiment(hypothesis_tolerance=5), preview, maintainer)
    assert run.status == "failed"
    assert any("Chaos drill drill on shop@preview: failed" in r.getMessage() for r in caplog.records)


def test_slo_page__shows_chaos_caused_burn_apart(client, make_user, make_experiment, preview, maintainer, service):
    from django.urls import reverse

    from observability.models import SliPoint

    minute = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=1)
    SliPoint.objects.create(service=service, environment=preview, minute=minute, total=100, errors=7, chaos=True)
    client.force_login(make_user("root", superuser=True))
    page = client.get(reverse("admin:observability_slo_service", args=[service.pk])).content.decode()
    assert "100 requests recorded while a fault was in force, 7 of them errors" in page


def test_metrics__the_last_run_of_each_experiment_with_its_age_and_verdict(make_experiment, preview, maintainer,
                                                                           client):
    from prometheus_client.parser import text_string_to_metric_families

    experiment = make_experiment(hypothesis_tolerance=0, pause_after=30)
    _run(experiment, preview, maintainer)  # aborted: the probe deviates
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").content.decode())}

    [sample] = families["governance_chaos_run_last_age_seconds"].samples
    assert sample.labels == {"service": experiment.service.slug, "environment": "preview",
                             "experiment": experiment.key, "status": "aborted"}
    assert 0 <= sample.value < 120
