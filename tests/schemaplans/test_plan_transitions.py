"""The plan service refuses every move the table does not list, and writes nothing when it does."""

import pytest
from django.core.exceptions import ValidationError

from governance.services import save_audited
from schemaplans import services, states
from schemaplans.models import SchemaPlan

S = SchemaPlan.Status
REFUSED = [(frm, to) for frm in states.PLAN.states for to in states.PLAN.states
           if (frm, to) not in states.PLAN.moves and to != S.VERIFIED]  # verified: only through runs (own test)


@pytest.mark.parametrize(("frm", "to"), REFUSED, ids=[f"{f}->{t}" for f, t in REFUSED])
def test_move_outside_the_table__is_refused_and_changes_nothing(plan, release_manager, system_user, frm, to):
    plan.status = frm
    save_audited(instance=plan, actor=system_user, reason="test: put the plan there", update_fields=["status"])
    records = plan.history.count()
    with pytest.raises(ValidationError) as exc:
        services.transition_plan(plan=plan, to=to, actor=release_manager, reason="try", release_version="1.0.0"
                                 if to == S.EXPANDED else "")
    allowed = ", ".join(states.PLAN.allowed_from(frm)) or f"none ({frm} is final)"
    assert exc.value.message_dict["status"] == [
        f"Plan '{plan.slug}' is {frm}: it cannot move to {to} (allowed next: {allowed})."]
    plan.refresh_from_db()
    assert (plan.status, plan.history.count()) == (frm, records)
