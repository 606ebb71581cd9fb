"""Every state change of the supplychain app (STYLE.md §2): `from supplychain import services`, then `services.x(...)`."""

from supplychain.services.sboms import (
    Stored,
    on_evidence_recorded,
    refresh_findings,
    store_sbom,
    validate_artifacts,
)
from supplychain.services.vulndb import ImportBusy, alert_live, import_advisories, rematch, send_finding_alert
from supplychain.services.waivers import approve_waiver, request_waiver, revoke_waiver, save_severity_policy

__all__ = [
    "ImportBusy", "Stored", "alert_live", "approve_waiver", "import_advisories", "on_evidence_recorded", "refresh_findings",
    "rematch", "request_waiver", "revoke_waiver", "save_severity_policy", "send_finding_alert", "store_sbom",
    "validate_artifacts",
]
