"""manage.py vulndb_import: directories and zips of JSON / YAML OSV records, incremental by `modified`,
idempotent, withdrawn records retracted."""

from __future__ import annotations

import json
import zipfile
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from supplychain import services
from supplychain.models import Advisory, AffectedPackage, Finding, ImportRun
from tests.conformance import conformance_dir
from tests.supplychain.conftest import osv, write_records

PYPA = conformance_dir() / "osv-pypa"


@pytest.fixture
def pypa_run(db):
    return services.import_advisories(source=str(PYPA))


def test_pypa_yaml_directory__imports_every_record_with_its_severity(pypa_run):
    files = list(PYPA.glob("*/*.yaml"))
    withdrawn = sum("\nwithdrawn:" in f.read_text(encoding="utf-8") for f in files)
    assert withdrawn > 0
    assert (pypa_run.read, pypa_run.created, pypa_run.withdrawn, pypa_run.invalid, pypa_run.error) == (
        len(files), len(files) - withdrawn, withdrawn, 0, "")
    assert Advisory.objects.filter(withdrawn__isnull=False).count() == withdrawn
    skywalking = Advisory.objects.get(osv_id="PYSEC-2020-342")
    assert (skywalking.severity_rating, skywalking.severity_score, skywalking.severity_source) == (
        "critical", 9.8, "cvss_v3")
    assert skywalking.aliases == ["CVE-2020-13921"]
    assert AffectedPackage.objects.filter(advisory=skywalking, ecosystem="PyPI", package="apache-skywalking").exists()


def test_reimport_of_the_same_export__writes_nothing(pypa_run):
    before = list(Advisory.objects.order_by("pk").values_list("pk", "imported_at"))
    again = services.import_advisories(source=str(PYPA))
    assert (again.created, again.updated, again.unchanged) == (0, 0, pypa_run.read)
    assert list(Advisory.objects.order_by("pk").values_list("pk", "imported_at")) == before


def test_newer_modified__updates_and_older_is_ignored(tmp_path, db):
    services.import_advisories(source=str(write_records(tmp_path / "a", osv("GHSA-1", "demo", fixed="2.0"))))
    newer = osv("GHSA-1", "demo", fixed="2.1", modified="2026-02-01T00:00:00Z")
    run = services.import_advisories(source=str(write_records(tmp_path / "b", newer)))
    assert (run.updated, run.created) == (1, 0)
    assert AffectedPackage.objects.get(advisory__osv_id="GHSA-1").fixed == ["2.1"]
    older = osv("GHSA-1", "demo", fixed="1.0", modified="2025-01-01T00:00:00Z")
    run = services.import_advisories(source=str(write_records(tmp_path / "c", older)))
    assert run.unchanged == 1
    assert AffectedPackage.objects.get(advisory__osv_id="GHSA-1").fixed == ["2.1"]


def test_withdrawn_record__is_retracted_with_its_findings(tmp_path, register_with_sbom):
    services.import_advisories(source=str(write_records(tmp_path / "a", osv("GHSA-2", "demo", fixed="2.0"))))
    release = register_with_sbom("1.0.0", "pkg:pypi/demo@1.0")
    assert Finding.objects.filter(release=release).count() == 1
    withdrawn = osv("GHSA-2", "demo", fixed="2.0", modified="2026-03-01T00:00:00Z",
                    withdrawn="2026-03-01T00:00:00Z")
    run = services.import_advisories(source=str(write_records(tmp_path / "b", withdrawn)))
    assert run.withdrawn == 1
    assert Advisory.objects.get(osv_id="GHSA-2").withdrawn is not None
    assert not AffectedPackage.objects.filter(advisory__osv_id="GHSA-2").exists()
    assert not Finding.objects.filter(release=release).exists()


def test_zip_of_json_records_as_github_lays_them_out__imports(tmp_path, db):
    archive = tmp_path / "advisories.zip"
    with zipfile.ZipFile(archive, "w") as z:
        record = osv("GHSA-xxxx-yyyy-zzzz", "left-pad", ecosystem="npm", fixed="1.3.0", severity=None,
                     database_specific={"severity": "MODERATE"})
        z.writestr("advisories/github-reviewed/2026/01/GHSA-xxxx-yyyy-zzzz/GHSA-xxxx-yyyy-zzzz.json",
                   json.dumps(record))
        z.writestr("advisories/README.md", "not a record")
        z.writestr("advisories/broken.json", "{not json")
    run = services.import_advisories(source=str(archive))
    assert (run.created, run.invalid) == (1, 1)
    assert "broken.json" in run.problems[0]
    advisory = Advisory.objects.get(osv_id="GHSA-xxxx-yyyy-zzzz")
    assert (advisory.severity_rating, advisory.severity_source) == ("medium", "database_specific")


def test_command__prints_progress_and_counts(tmp_path, db):
    folder = write_records(tmp_path / "a", *[osv(f"GHSA-{n}", f"pkg{n}") for n in range(3)])
    out, err = StringIO(), StringIO()
    call_command("vulndb_import", str(folder), stdout=out, stderr=err)
    assert "3 record(s) read" in out.getvalue() and "3 new" in out.getvalue()
    assert "… 3 read" in err.getvalue()
    assert ImportRun.objects.get().created == 3


def test_command_on_a_missing_path__fails(tmp_path, db):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("vulndb_import", str(tmp_path / "nowhere"), stdout=StringIO(), stderr=StringIO())


def test_scheduled_sync__imports_the_configured_source(tmp_path, settings, db):
    from supplychain import tasks

    settings.VULNDB_SYNC_SOURCE = str(write_records(tmp_path / "a", osv("GHSA-9", "demo")))
    assert "1 new" in tasks.sync_vulndb()
    assert ImportRun.objects.get().trigger == "sync"
    settings.VULNDB_SYNC_SOURCE = ""
    assert "not set" in tasks.sync_vulndb()


def test_scheduled_sync_from_a_url__downloads_the_zip_and_imports(tmp_path, settings, db):
    import functools
    import http.server
    import threading

    from supplychain import tasks

    with zipfile.ZipFile(tmp_path / "all.zip", "w") as z:
        z.writestr("GHSA-url.json", json.dumps(osv("GHSA-url", "demo")))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.VULNDB_SYNC_SOURCE = f"http://127.0.0.1:{server.server_address[1]}/all.zip"
        assert "1 new" in tasks.sync_vulndb()
        assert ImportRun.objects.get().source == settings.VULNDB_SYNC_SOURCE
        settings.VULNDB_SYNC_SOURCE = f"http://127.0.0.1:{server.server_address[1]}/missing.zip"
        with pytest.raises(Exception, match="404"):
            tasks.sync_vulndb()
    finally:
        server.shutdown()
        server.server_close()
