"""A result cache for `govctl migrations lint`, so a file linted before costs no parse and no pglast import.

Tools that call the linter once per file (pre-commit hooks, editors, `find … -exec`) pay the process start-up
each time, and importing pglast (PostgreSQL's parser and its ~500 enums and node classes) is most of it. A lint
result depends only on the SQL, the options and the linter itself, so it is cached under a key made of:

- the SQL text and every `LintOptions` field;
- the linter's own source (every module of this package, hashed) and the installed pglast (its path, size and
  modification time, read without importing it) — a new govctl or pglast never reads an old result.

Entries are JSON files `<cache dir>/<key[:2]>/<key>.json`, written atomically (temporary file + rename); an
unreadable or foreign entry is ignored and overwritten. The directory is `GOVCTL_CACHE_DIR`, else
`$XDG_CACHE_HOME/govctl/lint`, else `~/.cache/govctl/lint`; `--no-cache` (or `GOVCTL_CACHE_DIR=off`) turns it
off. Standard library only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from govctl.migration_lint.catalogue import Phase, Severity
from govctl.migration_lint.findings import Finding, LintOptions, LintResult, Operation

FORMAT = 1
_PACKAGE = Path(__file__).resolve().parent


def cache_dir() -> Path | None:
    """Where results are kept, or None when caching is off."""
    configured = os.environ.get("GOVCTL_CACHE_DIR", "")
    if configured.lower() in {"off", "0", "none"}:
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "govctl" / "lint"


def _linter_fingerprint() -> str:
    digest = hashlib.sha256(f"format {FORMAT}".encode())
    for source in sorted(_PACKAGE.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    spec = importlib.util.find_spec("pglast")  # locates the package without running it
    origin = spec.origin if spec and spec.origin else ""
    if origin:
        stat = os.stat(origin)
        digest.update(f"{origin}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def key(sql: str, options: LintOptions) -> str:
    fields = {name: sorted(value) if isinstance(value, frozenset) else (str(value) if value is not None else None)
              for name, value in dataclasses.asdict(options).items()}
    payload = json.dumps({"options": fields, "sql": sql}, sort_keys=True)
    return hashlib.sha256(f"{_linter_fingerprint()}\n{payload}".encode()).hexdigest()


def _path(directory: Path, cache_key: str) -> Path:
    return directory / cache_key[:2] / f"{cache_key}.json"


def load(directory: Path, cache_key: str, name: str) -> LintResult | None:
    """The cached result under `name`, or None (missing, unreadable or not ours)."""
    try:
        data = json.loads(_path(directory, cache_key).read_text(encoding="utf-8"))
        if data.get("key") != cache_key:
            return None
        return _result(data["result"], name)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(directory: Path, cache_key: str, result: LintResult) -> None:
    """Keep `result`; a cache that cannot be written is skipped silently (linting never fails for it)."""
    path = _path(directory, cache_key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": cache_key, "result": _data(result)}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        return


def _data(result: LintResult) -> dict[str, Any]:
    return {
        "findings": [dataclasses.asdict(f) | {"severity": str(f.severity)} for f in result.findings],
        "inferred_phase": str(result.inferred_phase),
        "declared_phase": str(result.declared_phase) if result.declared_phase else None,
        "plan_id": result.plan_id,
        "operations": [{"phase": str(o.phase), "description": o.description, "line": o.line}
                       for o in result.operations],
        "suppressed": result.suppressed,
    }


def _result(data: dict[str, Any], name: str) -> LintResult:
    findings = tuple(Finding(**(f | {"severity": Severity(f["severity"])})) for f in data["findings"])
    operations = tuple(Operation(Phase(o["phase"]), o["description"], int(o["line"])) for o in data["operations"])
    declared = data["declared_phase"]
    return LintResult(name=name, findings=findings, inferred_phase=Phase(data["inferred_phase"]),
                      declared_phase=Phase(declared) if declared else None, plan_id=data["plan_id"],
                      operations=operations, suppressed=int(data["suppressed"]))
