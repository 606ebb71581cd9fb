"""Our linter and squawk (squawk-cli 2.70.0) on the same corpus: where they agree, and why they differ.

Findings are compared per statement: for each of our findings, one of its squawk equivalents must flag the same
statement, and for each squawk finding one of our equivalent rules must. Every exception is listed below with
its reason; squawk rules we do not implement at all carry theirs in SQUAWK_NOT_IMPLEMENTED.
Run with `-s` to see the agreement table.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import defaultdict
from functools import cache
from pathlib import Path

from govctl.migration_lint import SQUAWK_EQUIVALENTS, SQUAWK_NOT_IMPLEMENTED, lint_sql, squawk_to_ours
from pglast import parse_sql

from tests.releases.corpus import CORPUS, corpus_files

_NEW_TABLE = "squawk does not treat a table created earlier in the same file as new for this rule"
_DECLARED_CONTRACT = "the file is declared `-- emc: contract plan=...`: dropping is what a contract step is for"

# (corpus file stem, rule id that fired on one side only) -> why.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("04_add_column_bigserial", "add-column-volatile-default"): (
        "squawk only reports prefer-identity; a bigserial column's nextval() default is volatile and the table is "
        "rewritten (pg_relation_filenode changes on PostgreSQL 15)"
    ),
    ("09_concurrent_index_in_transaction", "prefer-robust-stmts"): (
        "squawk also asks for IF NOT EXISTS; the statement cannot run inside BEGIN at all, which is what we report"
    ),
    ("21_widen_varchar_acknowledged", "changing-column-type"): (
        "acknowledged with `-- lint-ignore: change-column-type-widening`; squawk has its own ignore comment"
    ),
    ("25_drop_column_in_contract", "ban-drop-column"): _DECLARED_CONTRACT,
    ("47_mixed_phase", "ban-drop-column"): _DECLARED_CONTRACT + "; we report emc-mixed-phase instead",
    ("48_contract_without_plan", "ban-drop-column"): _DECLARED_CONTRACT + "; we report the missing plan instead",
    ("31_lock_timeout_zero", "missing-lock-timeout"): (
        "squawk accepts `SET LOCAL lock_timeout = 0`, which disables the timeout (0 = wait forever)"
    ),
    ("32_set_local_ends_with_transaction", "missing-lock-timeout"): (
        "squawk keeps a SET LOCAL lock_timeout after COMMIT; PostgreSQL resets it at the end of the transaction"
    ),
    ("33_django_add_field_with_default", "prefer-bigint-over-int"): (
        "squawk flags every integer column; we flag key columns only (a non-key integer rarely overflows)"
    ),
    ("36_new_table_same_file", "adding-required-field"): _NEW_TABLE,
    ("36_new_table_same_file", "adding-field-with-default"): _NEW_TABLE,
    ("36_new_table_same_file", "renaming-column"): _NEW_TABLE,
    ("36_new_table_same_file", "changing-column-type"): _NEW_TABLE,
    ("36_new_table_same_file", "adding-not-nullable-field"): _NEW_TABLE,
    ("52_add_exclusion_constraint", "constraint-missing-not-valid"): (
        "PostgreSQL has no NOT VALID form for EXCLUDE constraints, so squawk's advice cannot be followed; we report "
        "add-exclusion-constraint"
    ),
    ("45_drop_database", "require-lock-timeout"): (
        "DROP DATABASE takes no table lock: it fails at once while anyone is connected instead of queueing"
    ),
}


def _squawk_binary() -> str:
    beside_python = Path(sys.executable).with_name("squawk")
    found = str(beside_python) if beside_python.exists() else shutil.which("squawk")
    assert found, "squawk is missing: pip install -r requirements-dev.txt (squawk-cli==2.70.0)"
    return found


@cache
def _squawk_findings() -> dict[str, list[tuple[int, str]]]:
    """File name -> (1-based line, squawk rule id) for the whole corpus, from one squawk run."""
    names = [path.name for path in corpus_files()]
    completed = subprocess.run(
        [_squawk_binary(), "--reporter", "json", "--pg-version", "15", *names],
        cwd=CORPUS, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode in (0, 1), completed.stderr
    found: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for item in json.loads(completed.stdout):
        found[Path(item["file"]).name].append((item["line"] + 1, item["rule_name"]))
    return found


def _statement_of(spans: list[tuple[int, int]], line: int) -> int | str:
    """Index of the statement covering `line`, or the line itself where nothing parsed."""
    for index, (first, last) in enumerate(spans):
        if first <= line <= last:
            return index
    return f"line {line}"


def _spans(sql: str) -> list[tuple[int, int]]:
    try:
        statements = parse_sql(sql)
    except Exception:  # noqa: BLE001 -- a file that does not parse has no statements to compare on
        return []
    spans = []
    for raw in statements:
        start = raw.stmt_location
        assert start is not None  # the parser sets it on every statement
        end = start + (raw.stmt_len or len(sql) - start)
        spans.append((sql.count("\n", 0, start) + 1, sql.count("\n", 0, end) + 1))
    return spans


def _compare(path: Path) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """(agreements as (ours, squawk, statement)), (differences as (side, rule id)) for one corpus file."""
    sql = path.read_text(encoding="utf-8")
    spans = _spans(sql)
    ours: dict[object, set[str]] = defaultdict(set)
    for finding in lint_sql(sql, name=path.name).findings:
        if finding.rule in SQUAWK_EQUIVALENTS:
            ours[_statement_of(spans, finding.line)].add(finding.rule)
    theirs: dict[object, set[str]] = defaultdict(set)
    for line, rule in _squawk_findings().get(path.name, []):
        if rule not in SQUAWK_NOT_IMPLEMENTED:
            theirs[_statement_of(spans, line)].add(rule)
    inverse = squawk_to_ours()
    agreements: list[tuple[str, str, str]] = []
    differences: list[tuple[str, str]] = []
    for where in sorted(set(ours) | set(theirs), key=str):
        for rule in sorted(ours[where]):
            matched = sorted(set(SQUAWK_EQUIVALENTS[rule]) & theirs[where])
            if matched:
                agreements.extend((rule, squawk_rule, str(where)) for squawk_rule in matched)
            else:
                differences.append(("ours only", rule))
        for squawk_rule in sorted(theirs[where]):
            if not set(inverse.get(squawk_rule, ())) & ours[where]:
                differences.append(("squawk only", squawk_rule))
    return agreements, differences


def test_squawk_rules_on_corpus__are_mapped_or_explained() -> None:
    fired = {rule for findings in _squawk_findings().values() for _, rule in findings}
    unexplained = fired - set(squawk_to_ours()) - set(SQUAWK_NOT_IMPLEMENTED)
    assert not unexplained, f"map these squawk rules in SQUAWK_EQUIVALENTS or explain them: {sorted(unexplained)}"


def test_corpus__ours_and_squawk_agree_or_the_difference_is_documented() -> None:
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    unexplained: list[str] = []
    seen_differences: set[tuple[str, str]] = set()
    print("\ncorpus file                                  side         rule                              reason")
    for path in corpus_files():
        agreements, differences = _compare(path)
        for ours, squawk_rule, _ in agreements:
            pairs[(ours, squawk_rule)] += 1
        for side, rule in differences:
            key = (path.stem, rule)
            reason = KNOWN_DIFFERENCES.get(key)
            seen_differences.add(key)
            print(f"{path.stem:44} {side:12} {rule:33} {reason or 'UNEXPLAINED'}")
            if reason is None:
                unexplained.append(f"{path.name}: {side}: {rule}")
    print("\nagreements (ours <-> squawk: statements both flag)")
    for (ours, squawk_rule), count in sorted(pairs.items()):
        print(f"  {ours:40} <-> {squawk_rule:45} {count}")
    assert not unexplained, "differences without a reason in KNOWN_DIFFERENCES:\n" + "\n".join(unexplained)
    stale = sorted(set(KNOWN_DIFFERENCES) - seen_differences)
    assert not stale, f"KNOWN_DIFFERENCES entries that no longer differ (remove them): {stale}"


def test_mapped_rules__agree_with_squawk_on_at_least_one_corpus_statement() -> None:
    """Every mapping is exercised: a pair that never agrees would be an untested claim."""
    agreeing_ours = {ours for path in corpus_files() for ours, _, _ in _compare(path)[0]}
    never = sorted(set(SQUAWK_EQUIVALENTS) - agreeing_ours)
    assert not never, f"mapped rules that never agree with squawk on the corpus: {never}"
