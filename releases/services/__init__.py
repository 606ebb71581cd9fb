"""Every state change of the releases app (STYLE.md §2): `from releases import services`, then `services.x(...)`."""

from releases.services.approvals import approve_release, override_freeze
from releases.services.common import Conflict, transition
from releases.services.deployments import (
    alert_stuck_promotions,
    complete_deployment,
    execute_deployment,
    post_summary_to_pr,
    record_deployment,
    start_promotion,
    start_rollback,
)
from releases.services.freezes import Materialised, materialise_recurring_freezes, save_recurring_freeze
from releases.services.golive import go_live
from releases.services.registration import Registered, register_release, report_check, void_approvals

__all__ = [
    "Conflict", "Materialised", "Registered", "alert_stuck_promotions", "approve_release", "complete_deployment",
    "execute_deployment", "go_live", "materialise_recurring_freezes", "override_freeze", "post_summary_to_pr",
    "record_deployment", "register_release", "report_check", "save_recurring_freeze", "start_promotion",
    "start_rollback", "transition", "void_approvals",
]
