"""django-q2 entry points of the supplychain app."""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx
from django.conf import settings

from supplychain import services

DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, read=120.0)


def sync_vulndb() -> str:
    """Import the configured OSV export (VULNDB_SYNC_SOURCE: a directory, a zip, or an http(s) URL of a zip)."""
    source = settings.VULNDB_SYNC_SOURCE
    if not source:
        return "VULNDB_SYNC_SOURCE is not set: nothing to sync"
    try:
        if source.startswith(("http://", "https://")):
            with tempfile.TemporaryDirectory() as folder:
                target = Path(folder) / "osv.zip"
                with httpx.stream("GET", source, timeout=DOWNLOAD_TIMEOUT, follow_redirects=True) as response:
                    response.raise_for_status()
                    with target.open("wb") as out:
                        for chunk in response.iter_bytes():
                            out.write(chunk)
                run = services.import_advisories(source=str(target), trigger="sync")
                run.source = source[:1000]
                run.save(update_fields=["source"])
        else:
            run = services.import_advisories(source=source, trigger="sync")
    except services.ImportBusy as exc:
        return str(exc)
    if run.error:
        raise RuntimeError(f"vulnerability database sync from {source} failed: {run.error}")
    return (f"{run.read} read: {run.created} new, {run.updated} updated, {run.withdrawn} withdrawn, "
            f"{run.unchanged} unchanged, {run.invalid} invalid; {run.alerts} alert(s)")
