"""The migration linter (govctl.migration_lint) applied to Django migrations, and the migration-state hash.

Each migration's SQL is what `sqlmigrate` prints (collected by the schema editor, not executed); the phase comes
from the Migration class (`emc_phase = "expand" | "contract" | "neutral"`, `emc_plan = "<plan id>"` on contract
steps) or, when it declares none, is inferred from the SQL. Operations that cannot be written as SQL (RunPython)
add nothing, so data-only migrations are neutral.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations import Migration
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import CreateModel
from govctl import migration_lint
from govctl.migration_lint import LintResult

if TYPE_CHECKING:
    from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper

# The project's own apps: what `manage.py lint_migrations` checks when no app is named.
PROJECT_APPS = ["governance", "flags", "releases", "recovery", "observability", "schemaplans"]

# `manage.py migrate` (schemaplans/management/commands/migrate.py) sets lock_timeout for its session, so the
# linter does not ask each migration to set it.
RUNNER_SETS_LOCK_TIMEOUT = True


@dataclass
class MigrationReport:
    app: str
    name: str
    atomic: bool
    sql: str
    result: LintResult

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"

    @property
    def phase(self) -> str:
        return str(self.result.declared_phase or self.result.inferred_phase)

    def to_dict(self) -> dict[str, Any]:
        return {**self.result.to_dict(), "app": self.app, "migration": self.name, "atomic": self.atomic}


@dataclass
class LintReport:
    migrations: list[MigrationReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # history problems (non-linear, merge migrations)

    @property
    def errors(self) -> int:
        return len(self.problems) + sum(len(m.result.errors) for m in self.migrations)

    @property
    def warnings(self) -> int:
        return sum(len(m.result.warnings) for m in self.migrations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.errors == 0,
            "errors": self.errors,
            "warnings": self.warnings,
            "problems": self.problems,
            # The shape a release's `artifacts["migrations"]` takes (docs/MIGRATIONS.md): the release gate reads it.
            "migrations": [
                {"name": m.label, "phase": m.phase, "plan": m.result.plan_id} for m in self.migrations
            ],
            "files": [m.to_dict() for m in self.migrations],
        }


def loader() -> MigrationLoader:
    # Migrations on disk only: linting and hashing do not depend on what a database has applied.
    return MigrationLoader(None, ignore_no_migrations=True)


def history_problems(graph_loader: MigrationLoader, app: str) -> list[str]:
    """Linear history per app: one leaf and no merge migrations (two parents in the same app)."""
    problems = []
    leaves = graph_loader.graph.leaf_nodes(app)
    if len(leaves) > 1:
        names = ", ".join(name for _, name in sorted(leaves))
        problems.append(f"{app}: history is not linear: {len(leaves)} leaf migrations ({names}); "
                        "rebase the newer one onto the other instead of merging")
    for (label, name), migration in sorted(graph_loader.disk_migrations.items()):
        if label != app:
            continue
        parents = [dep for dep in migration.dependencies if dep[0] == app]
        if len(parents) > 1:
            problems.append(f"{app}.{name}: merge migration (depends on {', '.join(n for _, n in parents)}); "
                            "keep one line of migrations per app")
    return problems


def _ordered(graph_loader: MigrationLoader, app: str) -> list[tuple[str, str]]:
    nodes: list[tuple[str, str]] = []
    for leaf in sorted(graph_loader.graph.leaf_nodes(app)):
        for node in graph_loader.graph.forwards_plan(leaf):
            if node[0] == app and node not in nodes:
                nodes.append(node)
    return nodes


def collect_sql(graph_loader: MigrationLoader, migration: Migration, connection: BaseDatabaseWrapper
                ) -> tuple[str, set[str]]:
    """The SQL `sqlmigrate` prints for `migration` (without BEGIN/COMMIT) and the tables it creates."""
    state = graph_loader.project_state((migration.app_label, migration.name), at_end=False)
    with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
        after = migration.apply(state, editor, collect_sql=True)
    created: set[str] = set()
    for operation in migration.operations:
        if isinstance(operation, CreateModel):
            try:
                model = after.apps.get_model(migration.app_label, operation.name)
            except LookupError:  # deleted again later in the same migration
                continue
            created.add(model._meta.db_table)
            created.update(
                f.remote_field.through._meta.db_table
                for f in model._meta.local_many_to_many
                if f.remote_field.through._meta.auto_created
            )
    return "\n".join(editor.collected_sql) + "\n", created


def lint_migration(graph_loader: MigrationLoader, migration: Migration, *, connection: BaseDatabaseWrapper,
                   disabled: Iterable[str] = ()) -> MigrationReport:
    sql, created = collect_sql(graph_loader, migration, connection)
    phase = getattr(migration, "emc_phase", None)
    plan = getattr(migration, "emc_plan", None)
    name = f"{migration.app_label}.{migration.name}"
    pg_version = cast("PostgresWrapper", connection).pg_version  # the settings accept PostgreSQL only
    try:
        result = migration_lint.lint_sql(
            sql, name=name, declared_phase=phase, plan_id=plan, new_tables=created,
            in_transaction=migration.atomic, lock_timeout_set=RUNNER_SETS_LOCK_TIMEOUT,
            pg_version=pg_version // 10000, disabled=disabled,
        )
    except ValueError as exc:  # an emc_phase the linter does not know ("mixed", a typo)
        raise ValueError(f"{name}: emc_phase={phase!r}: {exc}") from exc
    return MigrationReport(migration.app_label, migration.name, migration.atomic, sql, result)


def lint_apps(apps: Iterable[str] = PROJECT_APPS, *, database: str = "default",
              disabled: Iterable[str] = ()) -> LintReport:
    """Lint every migration of `apps`, in dependency order, and check that each app's history is linear."""
    graph_loader = loader()
    report = LintReport()
    # A connection of its own: the schema editor refuses some operations (AddIndexConcurrently) inside the
    # caller's transaction, and collecting SQL must never touch the caller's session.
    connection = connections.create_connection(database)
    try:
        for app in apps:
            report.problems.extend(history_problems(graph_loader, app))
            for node in _ordered(graph_loader, app):
                migration = graph_loader.graph.nodes[node]
                report.migrations.append(
                    lint_migration(graph_loader, migration, connection=connection, disabled=disabled)
                )
    finally:
        connection.close()
    return report


# -- migration-state hash -------------------------------------------------------------------------------------

def migration_files(graph_loader: MigrationLoader, apps: Iterable[str] | None = None) -> dict[str, bytes]:
    """"app/migration_name" -> the migration file's bytes, for every migration on disk (of `apps`, if given)."""
    wanted = set(apps) if apps is not None else None
    files: dict[str, bytes] = {}
    for (app, name), migration in graph_loader.disk_migrations.items():
        if wanted is not None and app not in wanted:
            continue
        module = sys.modules[type(migration).__module__]
        files[f"{app}/{name}"] = Path(module.__file__ or "").read_bytes()
    return files


def schema_hash(apps: Iterable[str] | None = None) -> tuple[str, list[dict[str, str]]]:
    """sha256 over the sorted (app, migration name, normalised file content); and the per-migration digests.

    Keys are app labels and migration names, not paths, so the hash does not depend on where the code lives;
    the content is normalised like `govctl schema hash` (line ends, trailing blanks, BOM).
    """
    files = migration_files(loader(), apps)
    entries = [
        {"app": key.split("/", 1)[0], "migration": key.split("/", 1)[1],
         "sha256": hashlib.sha256(migration_lint.hashing.normalise_content(content)).hexdigest()}
        for key, content in sorted(files.items())
    ]
    return migration_lint.schema_hash(files), entries
