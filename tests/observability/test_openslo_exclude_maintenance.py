"""exclude_maintenance travels through OpenSLO as the `governance.portal/exclude-maintenance` annotation: a string
("true"/"false", OpenSLO annotations are map[string]string), written on every export and read back on import;
a value that is neither is an error naming its path, never a quiet "off"."""

from dataclasses import replace

import pytest
import yaml
from django.core.management import CommandError, call_command

from observability import openslo
from observability.openslo import ANNOTATION_EXCLUDE_MAINTENANCE, OpenSloError, dump_slos, load_slos, slo_to_document
from observability.slo_math import default_slos
from tests.observability.conftest import slo_named

PATH = f"metadata.annotations.{ANNOTATION_EXCLUDE_MAINTENANCE}"


def _success(**changes):
    slo = next(s for s in default_slos("production", service="checkout") if s.name == "api-success")
    return replace(slo, **changes)


def _load_with(value) -> list:
    document = slo_to_document(_success())
    document["metadata"]["annotations"][ANNOTATION_EXCLUDE_MAINTENANCE] = value
    return load_slos(yaml.safe_dump(document))


@pytest.mark.parametrize("on", [True, False])
def test_export_writes_it_as_a_string_annotation_and_import_reads_it_back(on):
    slo = _success(exclude_maintenance=on)

    text = dump_slos([slo])

    annotations = yaml.safe_load(text)["metadata"]["annotations"]
    assert annotations[ANNOTATION_EXCLUDE_MAINTENANCE] == ("true" if on else "false")
    assert all(isinstance(v, str) for v in annotations.values())  # OpenSLO: map[string]string
    assert f"{ANNOTATION_EXCLUDE_MAINTENANCE}: '{'true' if on else 'false'}'" in text  # quoted, not a YAML bool
    assert load_slos(text) == [slo]


def test_a_document_without_the_annotation__imports_with_it_off():
    document = slo_to_document(_success(exclude_maintenance=True))
    del document["metadata"]["annotations"][ANNOTATION_EXCLUDE_MAINTENANCE]

    [slo] = load_slos(yaml.safe_dump(document))

    assert slo.exclude_maintenance is False


def test_an_unquoted_yaml_boolean__is_taken_at_its_word():
    assert _load_with(True)[0].exclude_maintenance is True
    assert _load_with(False)[0].exclude_maintenance is False


@pytest.mark.parametrize("value", ["yes", "True", "1", "", "on", 1, 0, None, ["true"]])
def test_any_other_value__is_an_error_naming_the_annotation(value):
    with pytest.raises(OpenSloError) as caught:
        _load_with(value)

    assert caught.value.field == PATH
    assert str(caught.value).startswith(f"document 1: {PATH}: must be \"true\" or \"false\", got {value!r}")


def test_the_package_keeps_its_public_names():
    for name in ("dump_slos", "load_slos", "slo_to_document", "slo_from_document", "OpenSloError",
                 "format_duration", "parse_duration", "API_VERSION", "ANNOTATION_MIN_EVENTS"):
        assert hasattr(openslo, name), name


# --- through the portal: slo_export / slo_import ----------------------------------------------------------------


def test_slo_export_then_import__restores_exclude_maintenance(service, production, system_user, tmp_path,
                                                              capsys):
    from observability import services

    services.update_slo(slo=slo_named(service, production, "api-success"), exclude_maintenance=True,
                        actor=system_user, reason="announced upgrades")
    path = tmp_path / "slos.yaml"
    call_command("slo_export", service="shop", environment="production", output=str(path))
    assert f"{ANNOTATION_EXCLUDE_MAINTENANCE}: 'true'" in path.read_text()
    services.update_slo(slo=slo_named(service, production, "api-success"), exclude_maintenance=False,
                        actor=system_user, reason="someone turned it off")
    capsys.readouterr()

    call_command("slo_import", str(path), reason="restore")

    assert "0 created, 1 updated, 3 unchanged" in capsys.readouterr().out
    slo = slo_named(service, production, "api-success")
    assert slo.exclude_maintenance is True
    assert slo.history.latest().history_change_reason == f"slo_import {path}: restore"
    assert not slo_named(service, production, "availability").exclude_maintenance


def test_slo_import_of_an_invalid_value__names_the_path_and_changes_nothing(service, production, tmp_path):
    document = slo_to_document(slo_named(service, production, "api-success").definition())
    document["metadata"]["annotations"][ANNOTATION_EXCLUDE_MAINTENANCE] = "yes"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(document))

    with pytest.raises(CommandError, match=rf"document 1: {PATH}: must be \"true\" or \"false\", got 'yes'"):
        call_command("slo_import", str(path))

    assert slo_named(service, production, "api-success").exclude_maintenance is False
