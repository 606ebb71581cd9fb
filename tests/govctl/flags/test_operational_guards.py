"""Framework-free pieces of the Django guards: write detection, rate scaling, response shapes."""

from __future__ import annotations

import pytest
from govctl.django_middleware import make_write_blocker, rate_limit_multiplier
from govctl.flags.guards import (
    DatabaseWritesDisabled,
    is_write_statement,
    maintenance_html,
    problem_body,
    scaled_rate,
    wants_json,
    write_allowed,
    written_tables,
)


@pytest.mark.parametrize(
    "sql",
    [
        'INSERT INTO "shop_order" ("id") VALUES (%s)',
        'UPDATE "shop_order" SET "paid" = true',
        "delete from shop_order where id = 1",
        "  /* django */ -- note\n ALTER TABLE shop_order ADD COLUMN x int",
        "CREATE INDEX CONCURRENTLY idx ON shop_order (x)",
        "DROP TABLE IF EXISTS shop_order",
        "TRUNCATE shop_order, shop_line RESTART IDENTITY",
        "WITH moved AS (DELETE FROM shop_cart RETURNING *) INSERT INTO shop_archive SELECT * FROM moved",
        "(INSERT INTO t VALUES (1))",
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
        "GRANT SELECT ON t TO someone",
        "COPY shop_order FROM STDIN",
        "SELECT * INTO new_table FROM shop_order",
    ],
)
def test_write_statement__is_detected(sql: str) -> None:
    assert is_write_statement(sql) is True


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT "shop_order"."id" FROM "shop_order" WHERE "note" = \'please UPDATE me; DROP TABLE x\'',
        "SELECT * FROM shop_order FOR UPDATE",
        "SELECT * FROM shop_order FOR NO KEY UPDATE SKIP LOCKED",
        "WITH recent AS (SELECT * FROM shop_order) SELECT count(*) FROM recent",
        "SELECT updated_at, deleted FROM shop_order",
        "SAVEPOINT s1",
        "RELEASE SAVEPOINT s1",
        "SET TIME ZONE 'UTC'",
        "COPY (SELECT 1) TO STDOUT",
        "",
    ],
)
def test_read_or_session_statement__is_not_a_write(sql: str) -> None:
    assert is_write_statement(sql) is False


def test_written_tables__names_every_target_without_schema_or_quotes() -> None:
    assert written_tables('INSERT INTO "public"."Flags_Flag" (a) VALUES (1)') == {"flags_flag"}
    assert written_tables("TRUNCATE ONLY a, public.b") == {"a", "b"}
    assert written_tables(
        "WITH x AS (UPDATE flags_flagstate SET v = 1 RETURNING id) DELETE FROM flags_flag WHERE id IN (SELECT id FROM x)"
    ) == {"flags_flagstate", "flags_flag"}
    assert written_tables("INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = 2") == {"t"}


def test_always_writable_tables__may_still_be_written() -> None:
    allowed = ["flags_flag", "flags_flagstate"]

    assert write_allowed('UPDATE "flags_flag" SET "enabled" = false', allowed) is True
    assert write_allowed("INSERT INTO flags_flag SELECT * FROM shop_order", allowed) is True
    assert write_allowed('UPDATE "shop_order" SET x = 1', allowed) is False
    assert write_allowed("WITH a AS (DELETE FROM shop_order) UPDATE flags_flag SET x = 1", allowed) is False
    assert write_allowed("GRANT ALL ON flags_flag TO x", allowed) is False  # no parsable target: refused
    assert write_allowed("SELECT 1", []) is True


def test_write_blocker__refuses_writes_with_a_clear_error_and_runs_reads() -> None:
    blocker = make_write_blocker(["django_session"])
    ran: list[str] = []

    def execute(sql: str, params: object, many: bool, context: object) -> str:
        ran.append(sql)
        return "ok"

    assert blocker(execute, "SELECT 1", None, False, {}) == "ok"
    assert blocker(execute, "UPDATE django_session SET x = 1", None, False, {}) == "ok"
    with pytest.raises(DatabaseWritesDisabled, match="kill_switch_database"):
        blocker(execute, "INSERT INTO shop_order VALUES (1)", None, False, {})
    assert ran == ["SELECT 1", "UPDATE django_session SET x = 1"]


@pytest.mark.parametrize(
    ("rate", "multiplier", "expected"),
    [
        ("100/min", 0.5, "50/min"),
        ("100/minute", 2, "200/minute"),
        ("10/s", 0.01, "1/s"),
        ("3/hour", 1.5, "4/hour"),
        ("1000/day", 0, "0/day"),
        (None, 3, None),
    ],
)
def test_scaled_rate__scales_drf_rates(rate: str | None, multiplier: float, expected: str | None) -> None:
    assert scaled_rate(rate, multiplier) == expected


@pytest.mark.parametrize(
    ("rate", "multiplier"), [("100/min", -1), ("100/min", float("nan")), ("lots", 1), ("5/fortnight", 1)]
)
def test_scaled_rate__refuses_nonsense(rate: str, multiplier: float) -> None:
    with pytest.raises(ValueError):
        scaled_rate(rate, multiplier)


class _Flags:
    def __init__(self, **flags: tuple[bool, object]) -> None:
        self.flags = flags

    def get_flag(self, key: str) -> tuple[bool, object]:
        return self.flags.get(key, (False, None))


def test_rate_limit_multiplier__is_the_flag_value_only_when_on_and_sane() -> None:
    assert rate_limit_multiplier(_Flags(rate_limit_multiplier=(True, 0.25))) == 0.25
    assert rate_limit_multiplier(_Flags(rate_limit_multiplier=(False, 0.25))) == 1.0
    assert rate_limit_multiplier(_Flags(rate_limit_multiplier=(True, "fast"))) == 1.0
    assert rate_limit_multiplier(_Flags(rate_limit_multiplier=(True, -2))) == 1.0
    assert rate_limit_multiplier(_Flags()) == 1.0


@pytest.mark.parametrize(
    ("accept", "path", "expected"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "/shop/", False),
        ("application/json", "/shop/", True),
        ("application/problem+json", "/shop/", True),
        ("text/html;q=0.5, application/json", "/shop/", True),
        ("text/html", "/api/v1/orders", True),
        (None, "/shop/", False),
        ("*/*", "/shop/", False),
    ],
)
def test_wants_json__for_api_paths_and_json_preferring_clients(accept: str | None, path: str, expected: bool) -> None:
    assert wants_json(accept, path, ("/api/",)) is expected


def test_problem_body__is_rfc9457_shaped() -> None:
    assert problem_body(503, "Service under maintenance", "Back soon.", "maintenance", "https://x.invalid/p/") == {
        "type": "https://x.invalid/p/maintenance",
        "title": "Service under maintenance",
        "status": 503,
        "detail": "Back soon.",
    }


def test_maintenance_page__escapes_the_operator_message() -> None:
    page = maintenance_html("Down for maintenance", "<script>alert(1)</script> back at 14:00", 600)

    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "about 10 minute(s)" in page
