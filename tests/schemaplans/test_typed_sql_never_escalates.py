"""SQL typed into the portal never escalates, on real PostgreSQL.

Every attack statement, per field (verification query, backfill statement, smoke query), is refused when saved
AND again right before it runs (a row written before the rules, or past clean()). Then the parser is assumed
fooled (patched out) and the same statements go to the server: the prepared statement, the read-only
transaction and the throwaway role must still stop every one, and nothing changes (superuser flags, flag
states, no table created, no role left behind; a backfill fooled past the parser writes its own table
only). `-s` prints the figure: what each statement did.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from django.core.exceptions import ValidationError

from governance import sql_rules
from recovery import services as recovery_services
from recovery.engine.manifest import Manifest
from recovery.engine.restore import verify_database
from schemaplans import databases, engine, services
from schemaplans.models import Backfill, SchemaPlan

ESCALATE = "UPDATE auth_user SET is_superuser = true"
BOUND = "WHERE id >= %(lo)s AND id < %(hi)s"

# (what it tries, SQL) for the read-only fields: verification queries and smoke queries.
SELECT_ATTACKS = [
    ("stacked statements", f"SELECT 0; {ESCALATE}"),
    ("COMMIT ends the read-only transaction", f"SELECT 0; COMMIT; {ESCALATE}"),
    ("ROLLBACK then write", f"SELECT 0; ROLLBACK; {ESCALATE}"),
    ("SET ROLE", "SET ROLE postgres"),
    ("RESET ROLE after the query", "SELECT 0; RESET ROLE"),
    ("set_config(role)", "SELECT count(*) FROM pg_class WHERE set_config('role', 'postgres', false) <> ''"),
    ("set_config(read-only off)", "SELECT set_config('default_transaction_read_only', 'off', false) = 'off'"),
    ("data-modifying CTE", f"WITH x AS ({ESCALATE} RETURNING 1) SELECT count(*) FROM x"),
    ("SELECT … INTO", "SELECT 1 AS one INTO stolen_copy"),
    ("FOR UPDATE", "SELECT 1 FROM pg_database FOR UPDATE"),
    ("FOR SHARE in a subquery", "SELECT count(*) FROM (SELECT 1 FROM pg_database FOR SHARE) s"),
    ("DO block", f"DO $$ BEGIN {ESCALATE}; END $$"),
    ("COPY … TO PROGRAM", "COPY (SELECT 1) TO PROGRAM 'id'"),
    ("CALL", "CALL make_me_superuser()"),
    ("dblink loop-back", f"SELECT count(*) FROM dblink('dbname=postgres', '{ESCALATE}') AS t(x text)"),
    ("pg_terminate_backend", "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"),
    ("lo_import (server file)", "SELECT lo_import('/etc/passwd') > 0"),
    ("pg_read_file", "SELECT length(pg_read_file('/etc/passwd'))"),
    ("query_to_xml runs SQL text", f"SELECT length(query_to_xml('{ESCALATE} RETURNING 1', true, false, '')::text)"),
    ("nextval", "SELECT nextval('auth_user_id_seq')"),
    ("comment hides a statement", f"SELECT 0 /* harmless */; {ESCALATE} -- "),
    ("`;` inside a string", f"SELECT ';'; {ESCALATE}"),
    ("dollar quoting", f"SELECT $x$ ; $x$; {ESCALATE}"),
    ("EXPLAIN ANALYZE of a write", f"EXPLAIN ANALYZE {ESCALATE}"),
]
# Verification queries on the portal's database also may not read the portal's own tables.
VERIFICATION_ATTACKS = [*SELECT_ATTACKS, ("reads a portal table", "SELECT count(*) FROM auth_user WHERE is_superuser")]

# (what it tries, table the backfill names, SQL) for backfill statements.
BACKFILL_ATTACKS = [
    ("stacked statements", "bf_items", f"UPDATE bf_items SET new = old {BOUND}; {ESCALATE}"),
    ("COMMIT then write", "bf_items", f"COMMIT; {ESCALATE} {BOUND}"),
    ("names a portal table (auth_user)", "auth_user", f"{ESCALATE} {BOUND}"),
    ("switches a production flag on", "flags_flagstate", f"UPDATE flags_flagstate SET enabled = true {BOUND}"),
    ("updates another table than its own", "bf_items", f"{ESCALATE} {BOUND}"),
    ("SET ROLE", "bf_items", "SET ROLE postgres"),
    ("set_config(role)", "bf_items",
     f"UPDATE bf_items SET new = old {BOUND} AND set_config('role', 'postgres', true) <> ''"),
    ("data-modifying CTE", "bf_items", f"WITH x AS ({ESCALATE} RETURNING 1) UPDATE bf_items SET new = old {BOUND}"),
    ("subquery reads another table", "bf_items",
     f"UPDATE bf_items SET new = (SELECT count(*) FROM auth_user WHERE is_superuser) {BOUND}"),
    ("RETURNING", "bf_items", f"UPDATE bf_items SET new = old {BOUND} RETURNING new"),
    ("FOR UPDATE in a subquery", "bf_items",
     f"UPDATE bf_items SET new = (SELECT old FROM bf_items b WHERE b.id = 1 FOR UPDATE) {BOUND}"),
    ("SELECT … INTO", "bf_items", "SELECT old INTO stolen_copy FROM bf_items WHERE id >= %(lo)s AND id < %(hi)s"),
    ("DELETE", "bf_items", f"DELETE FROM bf_items {BOUND}"),
    ("INSERT", "bf_items", "INSERT INTO bf_items (id) SELECT g FROM generate_series(%(lo)s, %(hi)s) g"),
    ("unbounded UPDATE", "bf_items", "UPDATE bf_items SET new = old"),
    ("OR instead of AND in the bound", "bf_items", "UPDATE bf_items SET new = old WHERE id >= %(lo)s OR id < %(hi)s"),
    ("DO block", "bf_items", f"DO $$ BEGIN {ESCALATE}; END $$"),
    ("COPY … TO PROGRAM", "bf_items", "COPY (SELECT 1) TO PROGRAM 'id'"),
    ("CALL", "bf_items", "CALL make_me_superuser()"),
    ("dblink loop-back", "bf_items",
     f"UPDATE bf_items SET new = (SELECT count(*) FROM dblink('dbname=postgres', '{ESCALATE}') AS t(x text)) {BOUND}"),
    ("pg_terminate_backend", "bf_items", f"UPDATE bf_items SET new = pg_terminate_backend(1)::int {BOUND}"),
    ("comment hides a statement", "bf_items", f"UPDATE bf_items SET new = old {BOUND} /* x */; {ESCALATE} -- "),
    ("`;` inside a string", "bf_items", f"UPDATE bf_items SET new = length(';') {BOUND}; {ESCALATE}"),
    ("dollar quoting", "bf_items", f"UPDATE bf_items SET new = length($x$;$x$) {BOUND}; {ESCALATE}"),
]
SMOKE_ATTACKS = SELECT_ATTACKS


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:90]


# --- refused at save, and again at run --------------------------------------------------------------------

@pytest.mark.parametrize(("what", "statement"), VERIFICATION_ATTACKS, ids=[a[0] for a in VERIFICATION_ATTACKS])
def test_attack_verification_query__is_refused_at_save_and_at_run(plan, release_manager, what, statement):
    with pytest.raises(ValidationError) as refused:
        plan.verification_sql = statement
        services.update_plan(plan=plan, fields=["verification_sql"], actor=release_manager, reason="attack")
    assert refused.value.message_dict["verification_sql"]
    # A row that predates the rules (saved past clean()) is refused again right before it runs.
    plan.stamp(actor=release_manager, reason="written before the rules")
    plan.save(update_fields=["verification_sql"])
    mismatches, error = services.run_verification_query(SchemaPlan.objects.get(pk=plan.pk))
    assert mismatches is None and error.startswith("refused by the SQL rules:"), error


@pytest.mark.parametrize(("what", "table", "statement"), BACKFILL_ATTACKS, ids=[a[0] for a in BACKFILL_ATTACKS])
def test_attack_backfill_statement__is_refused_at_save_and_at_run(system_user, what, table, statement):
    with pytest.raises(ValidationError) as refused:
        services.create_backfill(name="attack", table=table, sql=statement, actor=system_user, reason="attack")
    assert refused.value.message_dict["sql"]
    backfill = services.create_backfill(name="attack", table="bf_items", sql=f"UPDATE bf_items SET new = old {BOUND}",
                                        actor=system_user, reason="a harmless statement first")
    backfill.table, backfill.sql, backfill.status = table, statement, Backfill.Status.RUNNING
    backfill.stamp(actor=system_user, reason="written before the rules")
    backfill.save(update_fields=["table", "sql", "status"])

    outcome = engine.run(backfill.pk)

    assert outcome.state == "paused" and outcome.message.startswith("refused by the SQL rules:"), outcome
    assert Backfill.objects.get(pk=backfill.pk).status == Backfill.Status.PAUSED


@pytest.mark.parametrize(("what", "statement"), SMOKE_ATTACKS, ids=[a[0] for a in SMOKE_ATTACKS])
def test_attack_smoke_query__is_refused_at_save_and_at_run(system_user, tmp_path, test_dsn, what, statement):
    with pytest.raises(ValidationError) as refused:
        recovery_services.create_backup_target(name="attack", directory=str(tmp_path), actor=system_user,
                                               reason="attack", smoke_queries=[{"name": what, "sql": statement}])
    assert refused.value.message_dict["smoke_queries"][0].startswith("Item 1")
    verdict = verify_database(dsn=test_dsn, manifest=EMPTY_MANIFEST, smoke_queries=[statement])[-1]
    assert verdict.status == "fail" and "refused by the SQL rules" in verdict.problems[0], verdict


EMPTY_MANIFEST = Manifest(database="?", server_version="?", snapshot_id="", taken_at="", tables=[])


def test_multi_statement_string__is_refused_by_the_server_itself(outside_db):
    with pytest.raises(psycopg.errors.SyntaxError, match="multiple commands"):
        sql_rules.run_one(outside_db, f"SELECT 0; COMMIT; {ESCALATE}")


@pytest.mark.parametrize("statement", ["SELECT " + "abs(" * 1000 + "1" + ")" * 1000,
                                       "SELECT " + "(SELECT " * 1000 + "1" + ")" * 1000])
def test_deeply_nested_statement__is_refused_not_a_crash(statement):
    with pytest.raises(sql_rules.SqlRefused, match="nested too deeply"):
        sql_rules.check_select(statement)


def test_allowed_statements__pass_the_rules():
    sql_rules.check_select("WITH t AS (SELECT 1 AS x) SELECT count(*) FROM t WHERE x::text LIKE '%;%'")
    sql_rules.check_backfill("UPDATE shop.orders SET code = status WHERE id >= %(lo)s AND id < %(hi)s "
                             "AND code IS DISTINCT FROM status AND note NOT LIKE '100%%'",
                             table="shop.orders", key_column="id")


# --- the parser fooled: the server and the role still stop every statement ---------------------------------

def _snapshot(conn: psycopg.Connection) -> tuple:
    return (
        conn.execute("SELECT count(*) FILTER (WHERE is_superuser), count(*) FROM auth_user").fetchone(),
        conn.execute("SELECT count(*) FILTER (WHERE enabled), count(*) FROM flags_flagstate").fetchone(),
        conn.execute("SELECT to_regclass('stolen_copy') IS NULL").fetchone(),
        conn.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'gov_typed_sql_%'").fetchone(),
        conn.execute("SELECT count(*) FROM bf_items").fetchone(),
    )


def _fooled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend the parser accepted everything: only the server, the transaction and the role are left."""
    monkeypatch.setattr(sql_rules, "check", lambda kind, text, **kw: [])
    monkeypatch.setattr(sql_rules, "check_select", lambda text: None)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_escalations_with_the_parser_fooled__change_nothing(monkeypatch, committed_table, outside_db, test_dsn,
                                                           make_user, system_user, service, capsys):
    committed_table("bf_items", 20)
    attacker = make_user("mallory", "Release manager")
    before = _snapshot(outside_db)
    figure: list[tuple[str, str, str, str, str]] = []

    def tried(field: str, what: str, at_save: Callable[[], object], at_run: Callable[[], str]) -> None:
        try:
            at_save()
            save = "ACCEPTED"
        except ValidationError:
            save = "refused at save"
        run = at_run()
        with monkeypatch.context() as patched:
            _fooled(patched)
            fooled = at_run()
        figure.append((field, what, save, run, fooled))

    plan = services.create_plan(service=service, slug="attack-plan", table="bf_items", verification_sql="SELECT 0",
                                actor=system_user, reason="x")
    for what, statement in VERIFICATION_ATTACKS:
        def save_plan(statement: str = statement) -> object:
            plan.verification_sql = statement
            plan.full_clean()
            return None

        def run_plan(statement: str = statement) -> str:
            plan.verification_sql = statement
            count, error = services.run_verification_query(plan)
            return f"ran read-only, returned {count}" if error == "" else _first_line(error)

        tried("verification", what, save_plan, run_plan)

    for what, table, statement in BACKFILL_ATTACKS:
        def save_backfill(table: str = table, statement: str = statement) -> object:
            Backfill(name="x", table=table, sql=statement).full_clean()
            return None

        def run_backfill(table: str = table, statement: str = statement) -> str:
            backfill = services.create_backfill(name="attack", table="bf_items", sql=f"UPDATE bf_items SET new = 1 "
                                                f"{BOUND}", actor=attacker, reason="x")
            backfill.table, backfill.sql, backfill.status = table, statement, Backfill.Status.RUNNING
            backfill.stamp(actor=attacker, reason="written past the rules")
            backfill.save(update_fields=["table", "sql", "status"])
            outcome = engine.run(backfill.pk, sleep=lambda s: None)
            return f"{outcome.state}: {_first_line(outcome.message)}" if outcome.state != "done" else \
                f"ran: {outcome.rows} rows of {table}"

        tried("backfill", what, save_backfill, run_backfill)

    for what, statement in SMOKE_ATTACKS:
        def save_smoke(what: str = what, statement: str = statement) -> object:
            from recovery.models import smoke_query_problem

            if smoke_query_problem([{"name": what, "sql": statement}]):
                raise ValidationError("refused")
            return None

        def run_smoke(statement: str = statement) -> str:
            verdict = verify_database(dsn=test_dsn, manifest=EMPTY_MANIFEST, smoke_queries=[statement])[-1]
            return "ran read-only" if verdict.status == "pass" else _first_line(verdict.problems[0].split(": ", 1)[1])

        tried("smoke", what, save_smoke, run_smoke)

    after = _snapshot(outside_db)
    with capsys.disabled():
        print("\n| field | statement | at save | at run | parser fooled: what the server/role did |")
        print("|---|---|---|---|---|")
        for row in figure:
            print("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
        counts: dict[str, int] = {}
        for field, *_ in figure:
            counts[field] = counts.get(field, 0) + 1
        print(f"\nstatements tried: {counts}; all refused at save: "
              f"{all(r[2] == 'refused at save' for r in figure)}; all refused at run: "
              f"{all(r[3].startswith(('refused by the SQL rules', 'paused: refused')) for r in figure)}")
    assert all(row[2] == "refused at save" for row in figure), [r for r in figure if r[2] != "refused at save"]
    assert all("refused by the SQL rules" in row[3] for row in figure), [r for r in figure if "refused" not in r[3]]
    assert after == before  # no superuser, no flag switched, no table, no role left, no bf_items row added
    # Past a fooled parser, a backfill can at most write its own table (the role's only grant).
    assert all(row[4].endswith("rows of bf_items") for row in figure if row[4].startswith("ran:"))
    assert databases.portal_table("auth_user") and databases.portal_table("public.flags_flagstate")
