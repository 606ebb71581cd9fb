"""SLO definitions: seeded for every service, edited through services, imported and exported as OpenSLO v1."""

from decimal import Decimal
from importlib import import_module

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from governance import services as core
from governance.models import Environment, Service
from observability import openslo, services, slo_math
from observability.models import Slo
from tests.observability.conftest import slo_named


def test_new_service__gets_the_default_slos_in_every_environment(service):
    slos = Slo.objects.filter(service=service)
    assert slos.count() == 4 * Environment.objects.count()
    latency = {s.environment.slug: s.threshold_ms for s in slos.filter(name="api-latency")}
    assert latency == {"development": 400, "preview": 400, "production": 300}
    success = slo_named(service, Environment.objects.get(slug="production"), "api-success")
    assert success.definition() == next(d for d in slo_math.default_slos("production", service="shop")
                                        if d.name == "api-success")
    record = success.history.latest()
    assert record.history_user.username == "system" and record.history_change_reason == "default SLOs: test fixture"


def test_services_existing_before_the_app__are_seeded_by_the_data_migration(system_user):
    # A service saved without create_service (so without the hook), as if it predated this app.
    legacy = core.save_audited(instance=Service(slug="legacy", name="Legacy"), actor=system_user, reason="old")
    assert not Slo.objects.filter(service=legacy).exists()
    migration = import_module("observability.migrations.0002_seed_slos_and_roles")
    state = MigrationLoader(connection).project_state(("observability", "0002_seed_slos_and_roles"))

    migration.seed_default_slos(state.apps, None)  # historical models, as `migrate` runs it
    migration.seed_default_slos(state.apps, None)  # idempotent

    assert Slo.objects.filter(service=legacy).count() == 4 * Environment.objects.count()


def test_slo_seed_command__fills_gaps_only(service, system_user, capsys):
    core.ensure_environment(slug="staging", name="Staging", is_production=False, order=25,
                            requires_second_person=False, actor=system_user, reason="new environment")
    call_command("slo_seed")
    call_command("slo_seed")
    per_service = 4 * Service.objects.count()  # every service (the portal's own included) gets the 4 defaults
    assert capsys.readouterr().out.splitlines() == [f"{per_service} SLO(s) created", "0 SLO(s) created"]
    assert Slo.objects.filter(service=service, environment__slug="staging").count() == 4


def test_update_slo__is_validated_by_the_maths_rules(service, system_user):
    slo = slo_named(service, Environment.objects.get(slug="production"), "api-latency")
    with pytest.raises(ValidationError) as exc:
        services.update_slo(slo=slo, threshold_ms=None, actor=system_user, reason="x")
    assert "threshold_ms" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.update_slo(slo=slo, objective=Decimal("1"), actor=system_user, reason="x")
    with pytest.raises(ValidationError) as exc:
        services.update_slo(slo=slo, window_minutes=60 * 24 * 60, actor=system_user, reason="x")
    assert "kept 35 days" in str(exc.value)


def test_update_slo__records_actor_and_reason(service, release_manager):
    slo = slo_named(service, Environment.objects.get(slug="production"), "api-success")
    services.update_slo(slo=slo, objective=Decimal("0.995"), actor=release_manager, reason="new target")
    record = slo.history.latest()
    assert (record.history_user, record.history_change_reason) == (release_manager, "new target")
    assert record.objective == Decimal("0.995")


def test_export_then_import__round_trips_and_changes_nothing(service, other_service, tmp_path, capsys):
    path = tmp_path / "slos.yaml"
    call_command("slo_export", service="shop", output=str(path))
    capsys.readouterr()
    text = path.read_text()
    assert text.count("kind: SLO") == 12 and "service: shop" in text and "billing" not in text

    call_command("slo_import", str(path))

    assert "0 created, 0 updated, 12 unchanged" in capsys.readouterr().out
    assert {d.name for d in openslo.load_slos(text)} == {"api-success", "api-latency", "database-errors",
                                                        "availability"}


def test_import__creates_and_updates_with_an_audited_reason(service, tmp_path, capsys):
    production = [d for d in openslo.load_slos(_export(capsys)) if d.environment == "production"]
    changed = [d if d.name != "api-success" else slo_math.SloDefinition(
        **{**d.__dict__, "objective": Decimal("0.9995"), "min_events": 2000}) for d in production]
    changed.append(slo_math.SloDefinition(name="checkout-latency", sli_type=slo_math.SliType.LATENCY,
                                          objective=Decimal("0.99"), window=slo_math.timedelta(days=1),
                                          min_events=100, environment="production", service="shop",
                                          threshold_ms=800))
    path = tmp_path / "changed.yaml"
    path.write_text(openslo.dump_slos(changed))

    call_command("slo_import", str(path), reason="Q3 targets")

    out = capsys.readouterr().out
    assert "1 created, 1 updated, 3 unchanged" in out
    slo = slo_named(service, Environment.objects.get(slug="production"), "api-success")
    assert slo.objective == Decimal("0.9995") and slo.min_events == 2000
    assert slo.history.latest().history_change_reason == f"slo_import {path}: Q3 targets"
    new = slo_named(service, Environment.objects.get(slug="production"), "checkout-latency")
    assert new.threshold_ms == 800 and new.window_minutes == 1440


def _export(capsys) -> str:
    call_command("slo_export", service="shop")
    return capsys.readouterr().out


def test_import_dry_run__changes_nothing(service, tmp_path, capsys):
    defs = [slo_math.SloDefinition(name="extra", sli_type=slo_math.SliType.REQUEST_SUCCESS,
                                   objective=Decimal("0.99"), window=slo_math.timedelta(days=7), min_events=0,
                                   environment="production", service="shop")]
    path = tmp_path / "x.yaml"
    path.write_text(openslo.dump_slos(defs))
    call_command("slo_import", str(path), dry_run=True)
    assert "1 created" in capsys.readouterr().out and not Slo.objects.filter(name="extra").exists()


@pytest.mark.parametrize(("text", "message"), [
    ("apiVersion: openslo/v1\nkind: SLO\nmetadata: [1, 2\n", "not valid YAML at line"),
    ("apiVersion: openslo/v0\nkind: SLO\n", "apiVersion: must be 'openslo/v1'"),
])
def test_import_of_a_bad_file__names_the_problem(db, tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CommandError, match=message):
        call_command("slo_import", str(path))


def test_import_for_an_unknown_service__changes_nothing(service, tmp_path):
    defs = [slo_math.SloDefinition(name="a", sli_type=slo_math.SliType.REQUEST_SUCCESS, objective=Decimal("0.99"),
                                   window=slo_math.timedelta(days=7), min_events=0, environment="production",
                                   service=s) for s in ("shop", "ghost")]
    path = tmp_path / "x.yaml"
    path.write_text(openslo.dump_slos(defs))
    with pytest.raises(CommandError, match="no service 'ghost'"):
        call_command("slo_import", str(path))
    assert not Slo.objects.filter(name="a").exists()


def test_import_of_a_missing_file__is_a_clear_error(db):
    with pytest.raises(CommandError, match="no such file"):
        call_command("slo_import", "/nonexistent/slos.yaml")


def test_export_of_an_unknown_service__is_a_clear_error(db):
    with pytest.raises(CommandError, match="no service 'ghost'"):
        call_command("slo_export", service="ghost")


def test_export_to_an_unwritable_path__is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="--output: cannot write"):
        call_command("slo_export", output=str(tmp_path / "no-such-dir" / "slos.yaml"))


def test_import_of_stdin_that_is_not_utf8__is_a_clear_error(db, monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"kind: SLO\n\xff\xfe"), encoding="utf-8"))
    with pytest.raises(CommandError, match="-: cannot read it"):
        call_command("slo_import", "-")
