"""Restore drills: restore a backup into a throwaway shadow database and verify it layer by layer.

The package keeps the import path `recovery.engine.restore` that the CLI, the portal's services and the
tests use; the parts live beside this file by responsibility:

- plan.py    what a drill is asked to do: objectives, layers, smoke queries, deadline, shadow name
- shadow.py  the steps that change the server: create the shadow database, pg_restore into it, drop it
- verify.py  the checks: integrity of the file, row counts, checksums, smoke queries; `verify_database`
- report.py  the evidence a drill returns and its Markdown report
- drill.py   `run_restore_drill`, which sequences the above
"""

from recovery.engine.restore.drill import run_restore_drill
from recovery.engine.restore.plan import DEFAULT_OBJECTIVES, LAYERS, SmokeQuery
from recovery.engine.restore.report import ObjectiveCheck, RestoreDrillEvidence, render_restore_report
from recovery.engine.restore.shadow import database_exists
from recovery.engine.restore.verify import verify_database

__all__ = [
    "DEFAULT_OBJECTIVES",
    "LAYERS",
    "ObjectiveCheck",
    "RestoreDrillEvidence",
    "SmokeQuery",
    "database_exists",
    "render_restore_report",
    "run_restore_drill",
    "verify_database",
]
