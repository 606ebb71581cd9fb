"""Replay of the vendored real release histories (tests/data/conformance/real-releases): what govctl plans for
each release, through the same CLI path a pipeline uses, compared with what the real release tool did."""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from govctl import cli

from tests.conformance import conformance_dir

ROOT = conformance_dir() / "real-releases"
FOLDERS = ("python-pubsub", "google-auth-library-python", "python-gitlab", "standard-version", "lerna-lite", "amltk")
# What each tool does beyond the vendored policy files, in govctl's newer policy keys (issue 13).
POLICY_EXTRAS: dict[str, dict[str, Any]] = {
    # release-please reads BEGIN_COMMIT_OVERRIDE blocks in squash-merged pull requests, and Conventional headers
    # in a commit's body as commits of their own.
    "python-pubsub": {"commit_override": True, "nested_commits": True},
    "google-auth-library-python": {"commit_override": True, "nested_commits": True},
    # conventional-recommended-bump (angular preset): any commit releases at least a patch.
    "standard-version": {"minimum_bump": "patch"},
    "lerna-lite": {"minimum_bump": "patch"},
}
_SHA = re.compile(r"/commit/([0-9a-f]{7,40})")
_CATEGORY = {"features": "features", "feature": "features", "feat": "features",
             "bug fixes": "fixes", "fix": "fixes", "fixes": "fixes"}


@dataclass(frozen=True)
class Replay:
    folder: str
    version: str
    expected: str
    got: str | None
    sections_match: bool | None  # None: no real changelog section to compare with


def pairs(folder: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    data = json.loads((ROOT / folder / "pairs.json").read_text(encoding="utf-8"))
    return data["meta"], data["pairs"]


def policy_for(folder: str) -> dict[str, Any]:
    policy = json.loads((ROOT / "policies" / f"{folder}.json").read_text(encoding="utf-8"))
    return {**policy, **POLICY_EXTRAS.get(folder, {})}


def _sections(markdown: str) -> dict[str, list[str]]:
    """Entries under breaking / features / fixes headings of one changelog section."""
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lstrip("⚠").strip().lower()
            current = "breaking" if "breaking" in title else _CATEGORY.get(title)
            if current and line.startswith("## ") and current != "breaking":
                current = None  # a version heading, not a section
            continue
        if not current:
            continue
        if line.startswith(("* ", "- ")):
            found.setdefault(current, []).append(line.strip())
        elif line.strip() and found.get(current):
            found[current][-1] += " " + line.strip()  # a continuation line (PSR wraps the commit link)
    return found


def _text_key(entry: str) -> str:
    """An entry's text without bullet, scope, links and final full stop (commitizen lists no commit links)."""
    entry = re.sub(r"^[*-]\s+", "", entry).replace("\\", "")
    entry = re.sub(r"^\*\*[^*]+?:?\*\*:?\s*", "", entry)
    entry = re.sub(r"\s*\(\[?[0-9a-f]{7}\]?(\([^)]*\))?\)\s*$", "", entry)
    return entry.strip().rstrip(".").lower()


def sections_agree(real: str, ours: str) -> bool:
    """Breaking by presence; features and fixes by linked commit SHAs, or by entry text when none are linked."""
    theirs, mine = _sections(real), _sections(ours)
    if bool(theirs.get("breaking")) != bool(mine.get("breaking")):
        return False
    linked = bool(_SHA.search(real))
    for kind in ("features", "fixes"):
        if linked:
            a = {sha[:7] for e in theirs.get(kind, []) for sha in _SHA.findall(e)}
            b = {sha[:7] for e in mine.get(kind, []) for sha in _SHA.findall(e)}
        else:
            a = {_text_key(e) for e in theirs.get(kind, [])}
            b = {_text_key(e) for e in mine.get(kind, [])}
        if a != b:
            return False
    return True


def _run(argv: list[str]) -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue())


@cache
def replay(mode: str, tmp: Path) -> tuple[Replay, ...]:
    """Every release of every folder; mode "default" (built-in policy, all commits) or "equivalent"."""
    results = []
    for folder in FOLDERS:
        meta, records = pairs(folder)
        policy_file = tmp / f"{folder}.policy.json"
        policy_file.write_text(json.dumps(policy_for(folder)), encoding="utf-8")
        for record in records:
            commits = json.loads((ROOT / folder / "commits" / f"{record['version']}.json").read_text("utf-8"))
            if mode == "equivalent" and record.get("path_filtered_shas") is not None:
                keep = set(record["path_filtered_shas"])
                commits = [c for c in commits if c["sha"] in keep]
            messages = tmp / "commits.json"
            messages.write_text(json.dumps(commits), encoding="utf-8")
            argv = ["semver", "next", "--current", record["prev_version"], "--messages-file", str(messages),
                    "--json", "--repo-url", meta["url"], "--date", record["date"], "--changelog", str(tmp / "c.md")]
            if mode == "equivalent":
                argv += ["--policy", str(policy_file)]
            result = _run(argv)
            got = result["next_version"]
            real_file = ROOT / folder / "real" / f"{record['version']}.md"
            agree = None
            if record.get("has_real_changelog") and real_file.exists():
                ours = result["changelog"] if got else ""
                agree = sections_agree(real_file.read_text(encoding="utf-8"), ours)
            results.append(Replay(folder, record["version"], record["version"], got, agree))
    return tuple(results)
