"""The backfill engine: keyset batches over an integer key, each in its own short transaction.

- The key range [lower, upper) is captured when the backfill first runs; rows inserted later are the new
  code's business (it writes both columns after the expand step).
- Each batch runs with `SET LOCAL lock_timeout` and `statement_timeout`; lock timeouts, deadlocks,
  serialization failures and cancelled statements are retried with exponential backoff and jitter; a batch
  that keeps failing is halved (one cancelled by the statement timeout at once: it was too big, and the
  timeout is what bounds how long a batch holds its row locks); one that fails even at a single row pauses
  the backfill with the error.
- The batch size adapts towards the target batch duration (at most x1.2 per step up, clamped); after each
  batch the engine rests a fraction of its duration (`rest_ratio`) so the application's writes keep room.
- The engine waits while a transaction on the target has been open too long or a replica lags too much.
- The checkpoint (next key, rows done, batch size) is written after every batch: in the batch's own
  transaction on the portal's database (exactly once), right after the commit elsewhere (at least once).
- A session advisory lock per backfill keeps two workers from running the same one; the checkpoint update
  also checks the key it expects, so even a second runner could not apply a batch twice.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.core.exceptions import ValidationError
from django.utils.module_loading import import_string
from psycopg import sql

from governance import sql_rules
from governance.locks import advisory_lock
from schemaplans import databases
from schemaplans.models import Backfill, BackfillProgress


def backfill_lock(backfill_id: int) -> str:
    """The advisory lock name (governance.locks) its runner holds: one runner per backfill across workers."""
    return f"schemaplans:backfill:{backfill_id}"
# lock_not_available, deadlock_detected, serialization_failure, query_canceled (statement_timeout)
QUERY_CANCELED = "57014"
RETRIABLE_SQLSTATES = {"55P03", "40P01", "40001", QUERY_CANCELED}
GROWTH_LIMIT = 1.2
COST_WINDOW = 3  # batches whose worst per-row cost sizes the next one
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 5.0
THROTTLE_SLEEP_S = 1.0
DEFAULT_BUDGET_S = 240.0  # below the django-q2 timeout (600 s): the task re-enqueues itself to go on

BatchObserver = Callable[[int, int, int, float], None]  # (lo, hi, rows, seconds the transaction took)


def backfill_callable(func: Callable[[psycopg.Connection, int, int], int]) -> Callable[[psycopg.Connection, int, int], int]:
    """Mark a function as usable by backfills: f(conn, lo, hi) -> rows changed, inside the batch transaction."""
    func.backfill_callable = True  # type: ignore[attr-defined]  # a marker the engine looks for
    return func


def load_callable(path: str) -> Callable[[psycopg.Connection, int, int], int]:
    try:
        func = import_string(path.strip())
    except ImportError as exc:
        raise ValueError(f"Cannot import {path!r}: {exc}") from None
    if not callable(func) or not getattr(func, "backfill_callable", False):
        raise ValueError(f"{path!r} is not decorated with @schemaplans.engine.backfill_callable.")
    return func


def next_batch_size(size: int, seconds: float, *, target_s: float, minimum: int, maximum: int) -> int:
    """Aim the next batch at the target duration: shrink in proportion, grow by at most x1.2, clamp."""
    ratio = target_s / max(seconds, 1e-4)
    proposed = int(size * min(GROWTH_LIMIT, ratio))
    if ratio > 1 and proposed == size:
        proposed = size + 1  # small sizes must still be able to grow
    return max(minimum, min(maximum, proposed))


def backoff_seconds(attempt: int, rng: random.Random) -> float:
    """Exponential backoff with equal jitter: half fixed, half random."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * (2 ** (attempt - 1)))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def _identifier(name: str) -> sql.Composable:
    return sql.Identifier(*name.split("."))


def _describe(exc: psycopg.Error, database: str) -> str:
    state = f"[{exc.sqlstate}] " if exc.sqlstate else ""
    return f"{state}{databases.scrub(str(exc).strip(), database)}"


class Stop(Exception):
    """The backfill cannot go on: pause it with this message."""


@dataclass
class Outcome:
    state: str  # "done", "stopped" (paused/cancelled meanwhile), "budget", "paused" (error), "busy", "idle"
    message: str = ""
    batches: int = 0
    rows: int = 0


@dataclass
class Engine:
    backfill: Backfill
    portal: psycopg.Connection
    target: psycopg.Connection
    sleep: Callable[[float], None] = time.sleep
    observer: BatchObserver | None = None
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        bf = self.backfill
        self.same_database = self.portal is self.target
        self.table = _identifier(bf.table)
        self.key = sql.Identifier(bf.key_column)
        self.func = load_callable(bf.callable_path) if bf.callable_path else None
        if self.func is None:
            # Checked again right before running: the row may predate the rules or have bypassed clean().
            problem = databases.typed_sql_problem(sql_rules.BACKFILL, bf.sql, database=bf.database, table=bf.table,
                                                  key_column=bf.key_column)
            if problem:
                raise Stop(f"refused by the SQL rules: {problem}")
        self.progress_table = sql.Identifier(BackfillProgress._meta.db_table)
        self.backfill_table = sql.Identifier(Backfill._meta.db_table)
        pids = {self.portal.info.backend_pid, self.target.info.backend_pid}
        self.own_pids = sorted(pids)
        self.mark = time.monotonic()

    # -- reads ----------------------------------------------------------------------------------------------
    def status(self) -> str:
        query = sql.SQL("SELECT status FROM {} WHERE id = %s").format(self.backfill_table)
        row = self.portal.execute(query, [self.backfill.pk]).fetchone()
        return row[0] if row else "missing"

    def load(self) -> dict[str, Any]:
        query = sql.SQL(
            "SELECT lower_key, upper_key, next_key, batch_size, retries, splits FROM {} WHERE backfill_id = %s"
        ).format(self.progress_table)
        row = self.portal.execute(query, [self.backfill.pk]).fetchone()
        if row is None:
            raise Stop("the progress row is missing")
        return dict(zip(("lower_key", "upper_key", "next_key", "batch_size", "retries", "splits"), row, strict=True))

    def capture_bounds(self) -> dict[str, Any]:
        """Smallest key and an exclusive upper bound, captured once: later rows are written by the new code."""
        bounds = self.target.execute(
            sql.SQL("SELECT min({k}), max({k}) FROM {t}").format(k=self.key, t=self.table)
        ).fetchone()
        assert bounds is not None  # an aggregate without GROUP BY returns one row
        low, high = bounds
        estimate = self.target.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [self.backfill.table]
        ).fetchone()
        rows = estimate[0] if estimate and estimate[0] and estimate[0] > 0 else None
        if rows is None:  # never analysed: count (small or new tables)
            counted = self.target.execute(sql.SQL("SELECT count(*) FROM {}").format(self.table)).fetchone()
            assert counted is not None  # an aggregate without GROUP BY returns one row
            rows = counted[0]
        lower = int(low) if low is not None else 0
        upper = int(high) + 1 if high is not None else 0
        self.portal.execute(
            sql.SQL("UPDATE {} SET lower_key = %s, upper_key = %s, next_key = %s, estimated_rows = %s, "
                    "updated_at = now() WHERE backfill_id = %s").format(self.progress_table),
            [lower, upper, lower, rows, self.backfill.pk],
        )
        return {"lower_key": lower, "upper_key": upper, "next_key": lower}

    def boundary(self, lo: int, size: int, upper: int) -> int:
        """The key `size` rows after `lo` (keyset pagination on the index), or the upper bound."""
        row = self.target.execute(
            sql.SQL("SELECT {k} FROM {t} WHERE {k} >= %s AND {k} < %s ORDER BY {k} OFFSET %s LIMIT 1").format(
                k=self.key, t=self.table
            ),
            [lo, upper, size],
        ).fetchone()
        return int(row[0]) if row else upper

    def throttle_reason(self) -> str:
        bf = self.backfill
        if bf.max_transaction_age_s:
            oldest = self.target.execute(
                "SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0) FROM pg_stat_activity "
                "WHERE datname = current_database() AND backend_type = 'client backend' AND state <> 'idle' "
                "AND xact_start IS NOT NULL AND pid <> ALL(%s)",
                [self.own_pids],
            ).fetchone()
            assert oldest is not None  # an aggregate without GROUP BY returns one row
            age = oldest[0]
            if age > bf.max_transaction_age_s:
                return f"a transaction on the target has been open {float(age):.0f}s (limit {bf.max_transaction_age_s}s)"
        if bf.max_replication_lag_s:
            worst = self.target.execute(
                "SELECT max(extract(epoch FROM greatest(write_lag, flush_lag, replay_lag))) FROM pg_stat_replication"
            ).fetchone()
            assert worst is not None  # an aggregate without GROUP BY returns one row
            lag = worst[0]
            if lag is not None and lag > bf.max_replication_lag_s:
                return f"a replica lags {float(lag):.1f}s (limit {bf.max_replication_lag_s}s)"
        return ""

    # -- writes ---------------------------------------------------------------------------------------------
    def note_throttle(self, reason: str, waited: float) -> None:
        now = time.monotonic()
        self.portal.execute(
            sql.SQL("UPDATE {} SET throttle_reason = %s, throttled_seconds = throttled_seconds + %s, "
                    "active_seconds = active_seconds + %s, updated_at = now() WHERE backfill_id = %s"
                    ).format(self.progress_table),
            [reason[:300], waited, now - self.mark, self.backfill.pk],
        )
        self.mark = now

    def checkpoint(self, conn: psycopg.Connection, *, lo: int, hi: int, rows: int, size: int, ms: float,
                   retries: int, splits: int) -> None:
        now = time.monotonic()
        cursor = conn.execute(
            sql.SQL("UPDATE {} SET next_key = %(hi)s, rows_done = rows_done + %(rows)s, batches_done = batches_done + 1,"
                    " batch_size = %(size)s, last_batch_ms = %(ms)s, max_batch_ms = greatest(max_batch_ms, %(ms)s),"
                    " retries = %(retries)s, splits = %(splits)s, active_seconds = active_seconds + %(active)s,"
                    " throttle_reason = '', last_error = '', updated_at = now()"
                    " WHERE backfill_id = %(id)s AND next_key = %(lo)s").format(self.progress_table),
            {"hi": hi, "rows": rows, "size": size, "ms": ms, "retries": retries, "splits": splits,
             "active": now - self.mark, "id": self.backfill.pk, "lo": lo},
        )
        if cursor.rowcount != 1:
            # Someone else moved the checkpoint: raising here rolls the batch back on the portal's database.
            raise Stop(f"the checkpoint moved away from key {lo} while this batch ran (another runner?)")
        self.mark = now

    def batch(self, lo: int, hi: int, *, size: int, retries: int, splits: int) -> tuple[int, float]:
        """Run [lo, hi) in one transaction; returns (rows, seconds the transaction was open)."""
        bf = self.backfill
        started = time.monotonic()
        with self.target.transaction():
            # On the portal's own database the checkpoint commits with the batch, so the commit need not wait
            # for the WAL flush: a crash loses the last batches and their checkpoints together (they run again),
            # and the row locks go sooner. Elsewhere the batch must be durable before its checkpoint is written.
            self.target.execute(
                "SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true), "
                "set_config('synchronous_commit', %s, true)",
                [f"{bf.lock_timeout_ms}ms", f"{bf.statement_timeout_ms}ms", "off" if self.same_database else "on"],
            )
            if self.func is not None:
                rows = int(self.func(self.target, lo, hi) or 0)
            else:
                # One prepared statement, as a throwaway role that may only read and update the named table.
                try:
                    with sql_rules.updating_only(self.target, bf.table):
                        cursor = sql_rules.run_one(self.target, bf.sql, {"lo": lo, "hi": hi})
                except sql_rules.RoleUnavailable as exc:
                    raise Stop(str(exc)) from None
                rows = max(cursor.rowcount, 0)
            if self.same_database:
                ms = (time.monotonic() - started) * 1000
                self.checkpoint(self.target, lo=lo, hi=hi, rows=rows, size=size, ms=ms, retries=retries, splits=splits)
        seconds = time.monotonic() - started
        if not self.same_database:
            # At-least-once window: a crash here re-runs [lo, hi) on resume (the SQL must be idempotent).
            self.checkpoint(self.portal, lo=lo, hi=hi, rows=rows, size=size, ms=seconds * 1000, retries=retries,
                            splits=splits)
        return rows, seconds

    # -- the loop -------------------------------------------------------------------------------------------
    def run(self, budget_s: float = DEFAULT_BUDGET_S) -> Outcome:
        bf = self.backfill
        state = self.load()
        if state["upper_key"] is None:
            state.update(self.capture_bounds())
        lo, upper = state["next_key"], state["upper_key"]
        size = max(bf.min_batch_size, min(bf.max_batch_size, state["batch_size"] or bf.initial_batch_size))
        retries, splits = state["retries"], state["splits"]
        target_s = bf.target_batch_ms / 1000
        deadline = time.monotonic() + budget_s
        outcome = Outcome("done")
        waited = False
        costs: deque[float] = deque(maxlen=COST_WINDOW)
        while lo < upper:
            # Leave for a fresh task when the budget is used, but only after some batch or throttle wait:
            # a zero budget must not re-enqueue forever without doing anything.
            if (outcome.batches or waited) and time.monotonic() > deadline:
                return Outcome("budget", f"time budget used; continuing from key {lo}", outcome.batches, outcome.rows)
            current = self.status()
            if current != Backfill.Status.RUNNING:
                return Outcome("stopped", f"backfill is {current}", outcome.batches, outcome.rows)
            reason = self.throttle_reason()
            if reason:
                self.sleep(THROTTLE_SLEEP_S)
                self.note_throttle(reason, THROTTLE_SLEEP_S)
                waited = True
                continue
            attempts, try_size = 0, size
            while True:
                hi = self.boundary(lo, try_size, upper)
                try:
                    rows, seconds = self.batch(lo, hi, size=try_size, retries=retries, splits=splits)
                    break
                except psycopg.Error as exc:
                    if exc.sqlstate not in RETRIABLE_SQLSTATES:
                        raise Stop(f"batch [{lo}, {hi}) failed: {_describe(exc, bf.database)}") from None
                    attempts += 1
                    retries += 1
                    # A statement timeout says the batch is too big: halve at once rather than retry the same size.
                    too_big = exc.sqlstate == QUERY_CANCELED and try_size > 1
                    if attempts >= bf.max_attempts or too_big:
                        if try_size <= 1 and attempts >= bf.max_attempts:
                            raise Stop(f"batch [{lo}, {hi}) failed {attempts} times even as a single row: "
                                       f"{_describe(exc, bf.database)}") from None
                        try_size, attempts = max(1, try_size // 2), 0
                        splits += 1
                        if self.status() != Backfill.Status.RUNNING:  # paused or cancelled while it struggled
                            return Outcome("stopped", "stopped while retrying", outcome.batches, outcome.rows)
                    if not too_big:  # contention: give the other transaction time to finish
                        self.sleep(backoff_seconds(max(attempts, 1), self.rng))
            if self.observer:
                self.observer(lo, hi, rows, seconds)
            if bf.rest_ratio > 0:
                self.sleep(seconds * bf.rest_ratio)
            outcome.batches += 1
            outcome.rows += rows
            # Size from the worst per-row cost of the last few batches, not the last one alone: on a busy server
            # the cost per row swings by 2-3x, and a batch sized on a lucky sample overshoots the target (and the
            # statement timeout, which wastes the whole batch).
            costs.append(seconds / max(try_size, 1))
            size = next_batch_size(try_size, try_size * max(costs), target_s=target_s, minimum=bf.min_batch_size,
                                   maximum=bf.max_batch_size)
            lo = hi
        return outcome


def run(backfill_id: int, *, budget_s: float = DEFAULT_BUDGET_S, sleep: Callable[[float], None] = time.sleep,
        observer: BatchObserver | None = None) -> Outcome:
    """Run a backfill until it is done, stopped, out of time budget, or paused by an error; then record it."""
    from governance.services import system_user
    from schemaplans import services

    backfill = Backfill.objects.get(pk=backfill_id)
    if backfill.status != Backfill.Status.RUNNING:
        return Outcome("idle", f"backfill #{backfill_id} is {backfill.status}")
    BackfillProgress.objects.get_or_create(backfill=backfill, defaults={"batch_size": backfill.initial_batch_size})
    app = f"backfill-{backfill_id}"
    try:
        with databases.connect(databases.DEFAULT, application_name=app) as portal:
            with advisory_lock(backfill_lock(backfill_id), wait=False, scope="session", connection=portal) as free:
                if not free:
                    return Outcome("busy", f"backfill #{backfill_id} is being run by another worker")
                if backfill.database == databases.DEFAULT:
                    outcome = Engine(backfill, portal, portal, sleep=sleep, observer=observer).run(budget_s)
                else:
                    with databases.connect(backfill.database, application_name=app) as target:
                        outcome = Engine(backfill, portal, target, sleep=sleep, observer=observer).run(budget_s)
    except (Stop, databases.DatabaseUnavailable) as exc:
        outcome = Outcome("paused", str(exc))
    except psycopg.Error as exc:  # outside a batch: reading the key range, the checkpoint, a lost connection
        outcome = Outcome("paused", f"database error: {_describe(exc, backfill.database)}")
    except Exception as exc:  # a callable's bug: pause with the error rather than fail silently in a worker
        outcome = Outcome("paused", f"{exc.__class__.__name__}: {exc}")
    actor = system_user()
    if outcome.state == "done":
        try:
            services.complete_backfill(backfill=backfill, actor=actor,
                                       reason="backfill engine: reached the upper bound")
        except ValidationError:  # paused or cancelled during the last batch: the operator's decision stands
            backfill.refresh_from_db(fields=["status"])
            outcome = Outcome("stopped", f"backfill is {backfill.status}", outcome.batches, outcome.rows)
    elif outcome.state == "paused":
        try:
            services.pause_backfill(backfill=backfill, actor=actor, reason=f"backfill engine: {outcome.message}",
                                    error=outcome.message)
        except ValidationError:  # paused or cancelled meanwhile: the operator's decision stands
            pass
    elif outcome.state == "budget":
        from django_q.tasks import async_task

        async_task("schemaplans.tasks.run_backfill", backfill_id)
    return outcome
