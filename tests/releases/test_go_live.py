"""Going live: CI's record, a promotion and a rollback write the same rows in the same order, or none at all."""

import pytest
from django.core.exceptions import ValidationError

from governance import hooks
from governance.models import AuditEvent
from releases import providers, services, states
from releases.models import Deployment, Release
from releases.services import golive

S = Release.State
PATHS = ("ci-record", "promotion", "rollback")


@pytest.fixture
def two_releases(register, production, system_user, gate_policy, second_manager):
    """1.0.0 is live in production; 1.1.0 is registered and approved (the gate allows its promotion)."""
    gate_policy(approvals_required=1)
    old = register("1.0.0")
    services.record_deployment(release=old, environment=production, status="succeeded", actor=system_user,
                               reason="ci deployed 1.0.0")
    new = register("1.1.0")
    services.approve_release(release=new, environment=production, actor=second_manager, reason="reviewed")
    return old, new


@pytest.fixture
def heard(monkeypatch):
    """What a DEPLOYMENT_RECORDED subscriber hears, in order."""
    calls: list[Deployment] = []
    monkeypatch.setattr(hooks, "DEPLOYMENT_RECORDED", [lambda *, deployment: calls.append(deployment)])
    return calls


def _prepare(path, two_releases, release_manager, system_user, production):
    """Everything up to the go-live step; returns (what goes live, what was live, the step that makes it live)."""
    old, new = two_releases
    if path == "ci-record":
        return new, old, lambda: services.record_deployment(
            release=new, environment=production, status="succeeded", actor=system_user, reason="go")
    if path == "rollback":
        promotion = services.start_promotion(release=new, environment=production, actor=release_manager,
                                             reason="weekly release")
        services.complete_deployment(deployment=promotion, result=providers.ProviderResult(ok=True),
                                     actor=system_user, reason="task")
        pending = services.start_rollback(service=new.service, actor=release_manager, reason="go")
        going, was = old, new
    else:
        pending = services.start_promotion(release=new, environment=production, actor=release_manager, reason="go")
        going, was = new, old
    return going, was, lambda: services.complete_deployment(
        deployment=pending, result=providers.ProviderResult(ok=True), actor=system_user, reason="task")


def _rows_since(mark, going, was):
    """The audit timeline written since `mark`, as (row, field that changed, new value)."""
    names = {str(going.pk): "going", str(was.pk): "was"}
    rows = []
    for event in AuditEvent.objects.filter(pk__gt=mark).order_by("pk"):
        changed = {c["field"]: c["new"] for c in event.changes}
        if event.model == "releases.release":
            rows.append((names[event.object_id], "state", changed["state"]))
        else:
            rows.append((event.model, "status", changed.get("status", Deployment.Status.SUCCEEDED)))
    return rows


@pytest.mark.parametrize("path", PATHS)
def test_every_path_to_live__writes_release_previous_then_deployment_and_fires_hooks_on_commit(
        path, two_releases, release_manager, system_user, production, heard, django_capture_on_commit_callbacks):
    going, was, step = _prepare(path, two_releases, release_manager, system_user, production)
    mark = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    with django_capture_on_commit_callbacks(execute=True):
        deployment = step()
        assert heard == []  # nothing is announced before the commit
    demoted = S.ROLLED_BACK if path == "rollback" else S.SUPERSEDED
    assert _rows_since(mark, going, was) == [
        ("going", "state", S.LIVE), ("was", "state", demoted), ("releases.deployment", "status", "succeeded")]
    going.refresh_from_db()
    was.refresh_from_db()
    assert (going.state, was.state) == (S.LIVE, demoted)
    assert (deployment.status, deployment.replaces, deployment.finished_at is not None) == ("succeeded", was, True)
    assert [d.pk for d in heard] == [deployment.pk]


@pytest.mark.parametrize("path", PATHS)
def test_demotion_refused_midway__leaves_no_row_of_the_go_live(
        path, two_releases, release_manager, system_user, production, heard, monkeypatch,
        django_capture_on_commit_callbacks):
    going, was, step = _prepare(path, two_releases, release_manager, system_user, production)
    going.refresh_from_db()
    was.refresh_from_db()
    before = (going.state, was.state, Deployment.objects.filter(status="succeeded").count())
    mark = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    # the release has gone live when the demotion of the previous one is refused
    monkeypatch.delitem(states.TRANSITIONS, (S.LIVE, S.ROLLED_BACK if path == "rollback" else S.SUPERSEDED))
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError, match="cannot move to"):
        step()
    going.refresh_from_db()
    was.refresh_from_db()
    assert (going.state, was.state, Deployment.objects.filter(status="succeeded").count()) == before
    assert not AuditEvent.objects.filter(pk__gt=mark).exists()
    assert heard == []


@pytest.mark.parametrize("path", PATHS)
def test_failure_after_the_deployment_row__undoes_the_whole_go_live(
        path, two_releases, release_manager, system_user, production, heard, monkeypatch,
        django_capture_on_commit_callbacks):
    going, was, step = _prepare(path, two_releases, release_manager, system_user, production)
    mark = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    succeeded = Deployment.objects.filter(status="succeeded").count()

    def broken(deployment):
        raise RuntimeError("hook registry broke")

    monkeypatch.setattr(golive, "fire_deployment_recorded", broken)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        step()
    assert Release.objects.get(pk=going.pk).state != S.LIVE
    assert Release.objects.get(pk=was.pk).state == S.LIVE
    assert Deployment.objects.filter(status="succeeded").count() == succeeded
    assert not AuditEvent.objects.filter(pk__gt=mark).exists()


def test_ci_record_with_a_bad_url__is_refused_before_anything_is_written(two_releases, system_user, production):
    _, new = two_releases
    mark = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    with pytest.raises(ValidationError) as exc:
        services.record_deployment(release=new, environment=production, status="succeeded", actor=system_user,
                                   reason="go", url="not a url")
    assert "url" in exc.value.message_dict
    assert Release.objects.get(pk=new.pk).state != S.LIVE
    assert not AuditEvent.objects.filter(pk__gt=mark).exists()


def test_ci_record_of_a_release_that_carries_a_pr__posts_the_summary_on_commit(
        two_releases, register, system_user, production, settings, monkeypatch, django_capture_on_commit_callbacks):
    settings.RELEASES_POST_SUMMARY_TO_PR = True
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-test")
    new = register("1.2.0", pr_url="https://github.com/acme/shop/pull/7")
    queued = []
    monkeypatch.setattr(golive, "async_task", lambda name, *args: queued.append((name, *args)))
    with django_capture_on_commit_callbacks(execute=True):
        services.record_deployment(release=new, environment=production, status="succeeded", actor=system_user,
                                   reason="go")
        assert queued == []
    assert queued == [("releases.tasks.post_summary", new.pk)]
