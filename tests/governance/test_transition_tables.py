"""Every lifecycle is one transition table: moves outside it are refused, and the docs show the code's table."""

from types import SimpleNamespace

import pytest

from flags import states as flag_states
from flags.models import ChangeRequest, ScheduledChange
from governance import transition_docs
from governance.transitions import InvalidTransition, TransitionTable, docs_block
from releases import states as release_states
from releases.models import Release
from schemaplans import states as plan_states
from schemaplans.models import Backfill, SchemaPlan

TABLES = {
    "release": (release_states.TABLE, Release.State),
    "schema plan": (plan_states.PLAN, SchemaPlan.Status),
    "backfill": (plan_states.BACKFILL, Backfill.Status),
    "change request": (flag_states.CHANGE_REQUEST, ChangeRequest.Status),
    "scheduled change": (flag_states.SCHEDULED_CHANGE, ScheduledChange.Status),
}


def _refused_pairs():
    for name, (table, _) in TABLES.items():
        for frm in table.states:
            for to in table.states:
                if (frm, to) not in table.moves:
                    yield pytest.param(table, frm, to, id=f"{name}:{frm}->{to}")


@pytest.mark.parametrize("name", TABLES)
def test_table__lists_every_value_of_the_model_field_once(name):
    table, choices = TABLES[name]
    assert sorted(table.states) == sorted(choices.values)


@pytest.mark.parametrize(("table", "frm", "to"), list(_refused_pairs()))
def test_move_not_in_the_table__is_refused_naming_the_allowed_moves(table, frm, to):
    row = SimpleNamespace(**{table.field: frm})
    with pytest.raises(InvalidTransition) as exc:
        table.check(row, to, label="row #1")
    allowed = ", ".join(table.allowed_from(frm)) or f"none ({frm} is final)"
    assert exc.value.message_dict == {
        table.field: [f"row #1 is {frm}: it cannot move to {to} (allowed next: {allowed})."]}


def test_move_in_the_table_but_outside_the_operation__is_refused_naming_its_source():
    row = SimpleNamespace(status=Backfill.Status.PENDING)
    with pytest.raises(InvalidTransition, match="row is pending: this moves it to running only from paused"):
        plan_states.BACKFILL.check(row, Backfill.Status.RUNNING, label="row", only_from=(Backfill.Status.PAUSED,))


def test_table_naming_an_unknown_state__cannot_be_built():
    with pytest.raises(ValueError, match=r"unknown states \['gone'\]"):
        TransitionTable(name="t", states=("a", "b"), moves={("a", "gone"): "never"})


@pytest.mark.parametrize(("page", "key", "table"), [
    pytest.param(page, key, table, id=f"{page}:{key}")
    for page, tables in transition_docs.rendered().items() for key, table in tables
])
def test_docs_page__shows_the_table_of_the_code(page, key, table):
    text = (transition_docs.DOCS / page).read_text()
    assert transition_docs.current_block(text, key) == docs_block(table, key), (
        f"docs/{page} is out of date: run `python scripts/render_transition_docs.py`")
