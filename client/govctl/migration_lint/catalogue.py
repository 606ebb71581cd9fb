"""The rule catalogue: ids, severities, messages, safe alternatives and the squawk equivalents.

Standard library only, so documentation, the CLI's help and the portal can list rules without pglast.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Phase(StrEnum):
    EXPAND = "expand"
    CONTRACT = "contract"
    NEUTRAL = "neutral"
    # Inferred only, never declarable: a migration that both expands and contracts.
    MIXED = "mixed"


DECLARABLE_PHASES = (Phase.EXPAND, Phase.CONTRACT, Phase.NEUTRAL)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    message: str
    safe_alternative: str


_E, _W = Severity.ERROR, Severity.WARNING

RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in [
        Rule(
            "add-not-null-column-without-default",
            _E,
            "Adding a NOT NULL column without a default to an existing table fails as soon as the table has rows, "
            "and breaks INSERTs from the running code, which does not know the column yet.",
            "Add the column nullable (or with a non-volatile DEFAULT), backfill it, then enforce NOT NULL in a "
            "contract step (CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, SET NOT NULL).",
        ),
        Rule(
            "add-column-volatile-default",
            _E,
            "Adding a column whose value must be computed per row (a volatile DEFAULT such as random(), "
            "gen_random_uuid(), clock_timestamp() or nextval(); serial and identity columns; stored generated "
            "columns; on PostgreSQL < 11 any DEFAULT) rewrites the whole table under an ACCESS EXCLUSIVE lock.",
            "Add the column without that default, then ALTER COLUMN ... SET DEFAULT for new rows and backfill "
            "existing rows in batches. Constant and stable defaults (0, 'x', now()) do not rewrite on PostgreSQL >= 11.",
        ),
        Rule(
            "create-index-non-concurrently",
            _E,
            "CREATE INDEX without CONCURRENTLY holds a SHARE lock on an existing table for the whole build: "
            "every INSERT, UPDATE and DELETE waits.",
            "CREATE INDEX CONCURRENTLY outside a transaction (Django: AddIndexConcurrently in a migration with "
            "atomic = False).",
        ),
        Rule(
            "concurrent-index-in-transaction",
            _E,
            "CREATE INDEX / DROP INDEX / REINDEX ... CONCURRENTLY cannot run inside a transaction block: "
            "PostgreSQL rejects the migration.",
            "Run the concurrent statement on its own, outside BEGIN ... COMMIT (Django: atomic = False).",
        ),
        Rule(
            "drop-index-non-concurrently",
            _W,
            "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the index's table, blocking reads "
            "and writes until it is dropped.",
            "DROP INDEX CONCURRENTLY outside a transaction.",
        ),
        Rule(
            "reindex-non-concurrently",
            _W,
            "REINDEX without CONCURRENTLY blocks writes to the table (and reads that use the index) while it rebuilds.",
            "REINDEX ... CONCURRENTLY outside a transaction.",
        ),
        Rule(
            "add-foreign-key-without-not-valid",
            _E,
            "Adding a foreign key checks every existing row while holding SHARE ROW EXCLUSIVE locks on both "
            "tables, blocking their writes for the whole scan.",
            "ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID, commit, then ALTER TABLE ... VALIDATE CONSTRAINT in a "
            "separate transaction (it only takes SHARE UPDATE EXCLUSIVE).",
        ),
        Rule(
            "add-check-without-not-valid",
            _E,
            "Adding a CHECK constraint scans the whole table while holding an ACCESS EXCLUSIVE lock.",
            "ADD CONSTRAINT ... CHECK (...) NOT VALID, commit, then VALIDATE CONSTRAINT in a separate transaction.",
        ),
        Rule(
            "validate-constraint-in-same-transaction",
            _E,
            "VALIDATE CONSTRAINT in the same transaction that added the constraint keeps the ADD's strong lock for "
            "the whole validation scan, so NOT VALID gains nothing.",
            "Commit after ADD CONSTRAINT ... NOT VALID and VALIDATE in its own transaction (in Django: a separate "
            "migration).",
        ),
        Rule(
            "set-not-null-without-check",
            _E,
            "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock unless a validated "
            "CHECK (col IS NOT NULL) constraint already proves it.",
            "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a separate transaction, then "
            "SET NOT NULL (PostgreSQL >= 12 skips the scan) and drop the check.",
        ),
        Rule(
            "change-column-type",
            _E,
            "Changing a column's type rewrites the table and rebuilds its indexes under an ACCESS EXCLUSIVE lock, "
            "and breaks running code that expects the old type.",
            "Add a column with the new type, write both, backfill, move reads, then drop the old column in a "
            "contract step.",
        ),
        Rule(
            "change-column-type-widening",
            _W,
            "This type change is metadata-only only when it widens the same type (varchar(n) to varchar(m >= n) "
            "or text, numeric(p,s) to numeric(q >= p,s)); from any other type it rewrites the table. It still "
            "takes a brief ACCESS EXCLUSIVE lock.",
            "Check that the old type is the narrower form of the same type (then acknowledge with "
            "-- lint-ignore: change-column-type-widening); otherwise follow change-column-type.",
        ),
        Rule(
            "rename-column",
            _E,
            "Renaming a column breaks the running code, which still uses the old name while the deploy rolls out.",
            "Add the new column, write both, backfill, move reads, then drop the old column in a contract step.",
        ),
        Rule(
            "rename-table",
            _E,
            "Renaming a table breaks the running code, which still uses the old name while the deploy rolls out.",
            "Create the new table (or a view under the new name), write both, move reads, then drop the old one "
            "in a contract step.",
        ),
        Rule(
            "drop-column-outside-contract",
            _E,
            "Dropping a column breaks running code that still reads it (Django selects every column) and cannot "
            "be rolled back without losing its data.",
            "First ship code that no longer uses the column, then drop it in a migration declared "
            "-- emc: contract plan=<id> once the plan is verified.",
        ),
        Rule(
            "drop-table-outside-contract",
            _E,
            "Dropping a table breaks running code that still queries it and cannot be rolled back without losing "
            "its data.",
            "First ship code that no longer uses the table, then drop it in a migration declared "
            "-- emc: contract plan=<id> once the plan is verified.",
        ),
        Rule(
            "drop-database",
            _E,
            "DROP DATABASE in a migration destroys every table at once.",
            "Drop databases by hand after a verified backup, never from a migration.",
        ),
        Rule(
            "add-unique-constraint-without-index",
            _E,
            "ADD CONSTRAINT ... UNIQUE builds its index while holding an ACCESS EXCLUSIVE lock, blocking reads and "
            "writes for the whole build.",
            "CREATE UNIQUE INDEX CONCURRENTLY first, then ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX.",
        ),
        Rule(
            "add-primary-key-without-index",
            _E,
            "ADD PRIMARY KEY builds its index (and checks NOT NULL) while holding an ACCESS EXCLUSIVE lock, "
            "blocking reads and writes for the whole build.",
            "CREATE UNIQUE INDEX CONCURRENTLY first, then ALTER TABLE ... ADD CONSTRAINT ... PRIMARY KEY USING INDEX.",
        ),
        Rule(
            "missing-lock-timeout",
            _E,
            "This statement takes a lock that blocks reads or writes, but no lock_timeout is set: while it waits "
            "behind a long-running query, every later query on the table queues behind it.",
            "Start the migration with SET lock_timeout = '5s' (SET LOCAL inside a transaction) and retry the "
            "migration when it times out.",
        ),
        Rule(
            "transaction-nesting",
            _E,
            "BEGIN inside an open transaction, or COMMIT/ROLLBACK with none open: the transaction boundaries are "
            "not what the file suggests (the migration tool may already wrap it).",
            "Use one BEGIN ... COMMIT pair, or let the migration tool open the transaction and write none.",
        ),
        Rule(
            "uncommitted-transaction",
            _E,
            "The file opens a transaction it never commits: the changes are rolled back, or the session holds its "
            "locks until the tool closes it.",
            "End every BEGIN with COMMIT.",
        ),
        Rule(
            "add-default-then-drop-default",
            _E,
            "Adding a column with DEFAULT ... NOT NULL and dropping the default in the same migration (Django's "
            "AddField pattern) leaves a NOT NULL column without a default: running code that does not know the "
            "column then fails every INSERT.",
            "Keep the database default (Django >= 5.0: db_default=...), or add the column nullable and enforce "
            "NOT NULL in a contract step once the new code is live.",
        ),
        Rule(
            "truncate-cascade",
            _E,
            "TRUNCATE ... CASCADE also empties every table that references the truncated ones by foreign key.",
            "Name every table to truncate explicitly, or delete rows in batches.",
        ),
        Rule(
            "char-column",
            _W,
            "character(n) pads values with spaces and compares surprisingly; it is almost never what is wanted.",
            "Use text (with a CHECK on length(...) if a limit is needed) or varchar.",
        ),
        Rule(
            "timestamp-without-time-zone",
            _W,
            "timestamp without time zone drops the UTC offset: the stored value depends on the writer's session "
            "time zone.",
            "Use timestamptz.",
        ),
        Rule(
            "serial-column",
            _W,
            "serial types create an owned sequence with its own permissions, ownership and dump/restore quirks.",
            "Use bigint GENERATED BY DEFAULT AS IDENTITY (Django >= 4.1 does).",
        ),
        Rule(
            "int-primary-key",
            _W,
            "A 16- or 32-bit key column runs out of values (about 2.1 billion for integer), and widening it later "
            "rewrites the table and every referencing table.",
            "Use bigint keys (bigint GENERATED BY DEFAULT AS IDENTITY; Django: DEFAULT_AUTO_FIELD = BigAutoField).",
        ),
        Rule(
            "non-rerunnable-statement",
            _W,
            "Outside a transaction, a failure part-way leaves the earlier statements applied, and this statement "
            "then fails when the migration is retried.",
            "Wrap the migration in a transaction, or make it idempotent with IF NOT EXISTS / IF EXISTS (after a "
            "failed CREATE INDEX CONCURRENTLY, drop the INVALID index before retrying).",
        ),
        Rule(
            "add-exclusion-constraint",
            _E,
            "ADD CONSTRAINT ... EXCLUDE builds its index and checks every row under an ACCESS EXCLUSIVE lock: "
            "reads and writes wait for the whole build. It has no NOT VALID form and no USING INDEX form.",
            "Enforce the rule on a new table (or a new partition) and move the rows there, or enforce it in the "
            "application and add the constraint during a maintenance window.",
        ),
        Rule(
            "detach-partition-non-concurrently",
            _W,
            "ALTER TABLE ... DETACH PARTITION takes an ACCESS EXCLUSIVE lock on the partitioned table: every query "
            "on any partition waits.",
            "On PostgreSQL 14+, ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY outside a transaction block.",
        ),
        Rule(
            "detach-partition-concurrently-in-transaction",
            _E,
            "DETACH PARTITION ... CONCURRENTLY cannot run inside a transaction block: PostgreSQL rejects the migration.",
            "Run the DETACH ... CONCURRENTLY on its own, in a migration the tool does not wrap in a transaction.",
        ),
        Rule(
            "commit-in-tool-transaction",
            _E,
            "The migration tool runs this file inside its own transaction, and a COMMIT or ROLLBACK in the file ends "
            "it: the tool then records the migration as applied although a ROLLBACK threw the changes away, and "
            "the statements after it run outside any transaction.",
            "Remove COMMIT/ROLLBACK from the file, or mark the migration as one the tool runs outside a transaction.",
        ),
        Rule(
            "do-block-unchecked",
            _W,
            "A DO block runs SQL the linter could not see (dynamic EXECUTE, or a body that is not PL/pgSQL or does "
            "not parse): its locks and rewrites were not checked.",
            "Write the DDL as plain statements, or review the block by hand and silence the rule for it with "
            "`-- lint-ignore: do-block-unchecked (why it is safe)`.",
        ),
        Rule(
            "parse-error",
            _E,
            "PostgreSQL's parser rejects this SQL; nothing else in the file was checked.",
            "Fix the syntax error.",
        ),
        Rule(
            "emc-mixed-phase",
            _E,
            "The migration mixes expand operations (adding tables, columns, indexes) with contract operations "
            "(dropping or tightening): there is no moment when both the old and the new code can run against it.",
            "Split it: the expand migration ships with the new code; the contract migration ships after the "
            "schema plan is verified.",
        ),
        Rule(
            "emc-phase-mismatch",
            _E,
            "The declared phase does not match the phase inferred from the operations.",
            "Fix the -- emc: annotation (Django: the declared phase), or move the operations into a migration of "
            "the right phase.",
        ),
        Rule(
            "emc-contract-undeclared",
            _E,
            "The migration performs contract operations (drops, renames, tightened constraints) but is not "
            "declared as a contract step.",
            "Declare it with -- emc: contract plan=<id> and deploy it only after the plan is verified.",
        ),
        Rule(
            "emc-contract-missing-plan",
            _E,
            "A contract migration must name the schema plan it completes.",
            "Annotate -- emc: contract plan=<id>; govctl migrations check verifies the plan before the deploy.",
        ),
        Rule(
            "emc-invalid-annotation",
            _E,
            "The -- emc: annotation cannot be read, or the file has several that disagree.",
            "Write exactly one annotation: -- emc: expand | contract plan=<id> | neutral.",
        ),
    ]
}

# Ours -> squawk 2.70 rule ids that flag the same problem (squawk renamed a few over time; both spellings kept).
SQUAWK_EQUIVALENTS: dict[str, tuple[str, ...]] = {
    "detach-partition-non-concurrently": ("require-concurrent-partition-detach",),
    "add-not-null-column-without-default": ("adding-required-field",),
    "add-column-volatile-default": ("adding-field-with-default",),
    "create-index-non-concurrently": ("require-concurrent-index-creation",),
    "concurrent-index-in-transaction": ("ban-concurrent-index-creation-in-transaction",),
    "drop-index-non-concurrently": ("require-concurrent-index-deletion",),
    "reindex-non-concurrently": ("require-concurrent-reindex",),
    "add-foreign-key-without-not-valid": ("adding-foreign-key-constraint", "constraint-missing-not-valid"),
    "add-check-without-not-valid": ("constraint-missing-not-valid",),
    "validate-constraint-in-same-transaction": ("constraint-missing-not-valid",),
    "set-not-null-without-check": ("adding-not-nullable-field",),
    "change-column-type": ("changing-column-type",),
    "change-column-type-widening": ("changing-column-type",),
    "rename-column": ("renaming-column",),
    "rename-table": ("renaming-table",),
    "drop-column-outside-contract": ("ban-drop-column",),
    "drop-table-outside-contract": ("ban-drop-table",),
    "drop-database": ("ban-drop-database",),
    # squawk also reports UNIQUE / PRIMARY KEY under constraint-missing-not-valid (they cannot be NOT VALID).
    "add-unique-constraint-without-index": ("disallowed-unique-constraint", "constraint-missing-not-valid"),
    "add-primary-key-without-index": ("adding-serial-primary-key-field", "constraint-missing-not-valid"),
    "missing-lock-timeout": ("require-lock-timeout", "require-timeout-settings"),
    "transaction-nesting": ("transaction-nesting",),
    "uncommitted-transaction": ("ban-uncommitted-transaction",),
    "add-default-then-drop-default": ("ban-drop-default",),
    "truncate-cascade": ("ban-truncate-cascade",),
    "char-column": ("ban-char-field",),
    "timestamp-without-time-zone": ("prefer-timestamp-tz", "prefer-timestamptz"),
    "serial-column": ("prefer-identity",),
    "int-primary-key": ("prefer-bigint-over-int", "prefer-bigint-over-smallint", "prefer-big-int"),
    "non-rerunnable-statement": ("prefer-robust-stmts",),
    "parse-error": ("syntax-error",),
}

# squawk rules we deliberately do not implement, and why.
SQUAWK_NOT_IMPLEMENTED: dict[str, str] = {
    "require-statement-timeout": (
        "lock_timeout is what protects traffic; a statement_timeout would abort the long but non-blocking steps "
        "we recommend (CREATE INDEX CONCURRENTLY, VALIDATE CONSTRAINT)."
    ),
    "prefer-text-field": (
        "widening varchar(n) is metadata-only since PostgreSQL 9.2 (measured: no rewrite on 15), and Django's "
        "CharField emits varchar(n) everywhere; the warning would be noise."
    ),
    "ban-drop-not-null": (
        "DROP NOT NULL is the expand step that lets new code stop writing a column before it is dropped; "
        "it is classified expand, not flagged."
    ),
    "ban-drop-constraint": (
        "dropping a constraint is classified contract: it needs the -- emc: contract plan=<id> declaration "
        "(emc-contract-undeclared) rather than a ban."
    ),
    "ban-create-domain-with-constraint": "domains are not used by Django or this project's migrations.",
    "ban-alter-domain-with-add-constraint": "domains are not used by Django or this project's migrations.",
}


def squawk_to_ours() -> dict[str, tuple[str, ...]]:
    """Invert SQUAWK_EQUIVALENTS: squawk rule id -> our rule ids that cover it."""
    inverted: dict[str, list[str]] = {}
    for ours, theirs in SQUAWK_EQUIVALENTS.items():
        for squawk_id in theirs:
            inverted.setdefault(squawk_id, []).append(ours)
    return {key: tuple(value) for key, value in inverted.items()}
