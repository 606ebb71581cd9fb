"""Point-in-time recovery: replay a base backup plus archived WAL up to a target time, and drill it.

The package keeps the import path `recovery.engine.pitr` that the CLI, the portal's services and the tests
use; the parts live beside this file by responsibility:

- replay.py  `RecoveredCluster`: a copy of a base backup recovered to a target time (also for a real recovery)
- drill.py   `run_pitr_drill`: the rehearsal in throwaway clusters and its verdicts
- report.py  the evidence a drill returns and its Markdown report
"""

from recovery.engine.pitr.drill import PITR_LAYERS, default_beyond_archive_target, run_pitr_drill
from recovery.engine.pitr.replay import TARGET_NOT_REACHED, RecoveredCluster, RecoveryOutcome
from recovery.engine.pitr.report import PitrDrillEvidence, render_pitr_report

__all__ = [
    "PITR_LAYERS",
    "TARGET_NOT_REACHED",
    "PitrDrillEvidence",
    "RecoveredCluster",
    "RecoveryOutcome",
    "default_beyond_archive_target",
    "render_pitr_report",
    "run_pitr_drill",
]
