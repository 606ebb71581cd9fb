"""Secret scanning with detect-secrets (the library; works offline): the files of a change and, optionally, the
lines every commit added. A finding is file, line, type and the SHA-1 of the secret (detect-secrets' own
`hashed_secret`, so findings compare with a `.secrets.baseline`), NEVER the secret itself.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govctl.errors import GovctlError


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    line: int
    type: str
    hashed_secret: str
    commit: str | None = None  # set for findings in the git history

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"file": self.file, "line": self.line, "type": self.type,
                                "hashed_secret": self.hashed_secret}
        if self.commit:
            data["commit"] = self.commit
        return data

    def describe(self) -> str:
        where = f" (commit {self.commit[:12]})" if self.commit else ""
        return f"{self.file}:{self.line}: {self.type} [sha1 {self.hashed_secret}]{where}"


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False,
                              encoding="utf-8", errors="replace")
    except OSError as exc:
        raise GovctlError(f"cannot run git: {exc}", exit_code=2) from None
    if done.returncode != 0:
        raise GovctlError(f"git {' '.join(args)}: {done.stderr.strip()}", exit_code=2)
    return done.stdout


def repo_root(start: Path) -> Path:
    return Path(_git(start, "rev-parse", "--show-toplevel").strip())


def changed_files(repo: Path, base: str | None) -> list[str]:
    """Files (relative to the repository) changed against `base` (committed or not) that still exist; every
    tracked file when there is no base."""
    if base is None:
        names = _git(repo, "ls-files", "-z").split("\0")
    else:
        names = _git(repo, "diff", "--name-only", "--diff-filter=d", "-z", base).split("\0")
        names += _git(repo, "ls-files", "--others", "--exclude-standard", "-z").split("\0")  # new, not yet added
    return sorted({name for name in names if name and (repo / name).is_file()})


def given_files(repo: Path, paths: list[str]) -> list[str]:
    """Given files and directories (walked, skipping .git) as paths relative to the repository."""
    out: set[str] = set()
    for raw in paths:
        path = Path(raw).resolve()
        if not path.exists():
            raise GovctlError(f"{raw}: no such file or directory", exit_code=2)
        files = [path]
        if path.is_dir():
            files = []
            for folder, dirs, names in os.walk(path):
                dirs[:] = [d for d in dirs if d != ".git"]
                files += [Path(folder) / name for name in names]
        for file in files:
            try:
                out.add(str(file.relative_to(repo)))
            except ValueError:
                out.add(str(file))
    return sorted(out)


@contextmanager
def _settings(baseline: str | None) -> Iterator[set[tuple[str, str, str]]]:
    """detect-secrets' settings (a baseline's plugins and filters, else every plugin and the default filters),
    and the (file, hashed secret, type) triples the baseline already knows."""
    from detect_secrets.core import baseline as baselines
    from detect_secrets.settings import default_settings, transient_settings

    if baseline is None:
        with default_settings():
            yield set()
        return
    try:
        loaded = baselines.load_from_file(baseline)
    except Exception as exc:  # detect-secrets raises its own errors for unreadable/invalid baselines
        raise GovctlError(f"--baseline {baseline}: {exc}", exit_code=2) from None
    known = {(filename, secret.secret_hash, secret.type)
             for filename, secret in baselines.load(loaded, baseline)}
    upgraded = baselines.upgrade(loaded)
    with transient_settings({key: upgraded[key] for key in ("plugins_used", "filters_used") if key in upgraded}):
        yield known


def scan_files(repo: Path, files: list[str], *, baseline: str | None = None) -> list[Finding]:
    from detect_secrets import SecretsCollection

    with _settings(baseline) as known:
        collection = SecretsCollection(root=str(repo))
        for name in files:
            collection.scan_file(name)
        return sorted(
            Finding(filename, secret.line_number, secret.type, secret.secret_hash)
            for filename, secret in collection
            if (filename, secret.secret_hash, secret.type) not in known)


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(?P<start>\d+)(?:,\d+)? @@")


def _added_lines(log: str) -> Iterator[tuple[str, str, int, str]]:
    """(commit, file, line number in that commit, text) for every line each commit added."""
    commit, file, number = "", None, 0
    for line in log.split("\n"):
        if line.startswith("\0commit "):
            commit, file = line.split(" ", 1)[1].strip(), None
        elif line.startswith("+++ "):
            target = line[4:]
            file = target[2:] if target.startswith("b/") else None
        elif line.startswith("@@"):
            match = _HUNK.match(line)
            number = int(match["start"]) if match else 0
        elif line.startswith("+") and file is not None:
            yield commit, file, number, line[1:]
            number += 1
        elif line.startswith(" ") and file is not None:
            number += 1


def scan_history(repo: Path, *, base: str | None = None, baseline: str | None = None) -> list[Finding]:
    """Secrets in the lines any commit added (base..HEAD, or the whole history of HEAD): a secret deleted since
    is still in the history, and still to be rotated."""
    from detect_secrets.core.scan import scan_line

    log = _git(repo, "log", "-p", "--no-color", "--no-ext-diff", "--no-renames", "-U0", "--format=%x00commit %H",
               f"{base}..HEAD" if base else "HEAD", "--")
    findings: set[Finding] = set()
    with _settings(baseline) as known:
        for commit, file, number, text in _added_lines(log):
            for secret in scan_line(text):
                if (file, secret.secret_hash, secret.type) not in known:
                    findings.add(Finding(file, number, secret.type, secret.secret_hash, commit))
    return sorted(findings)


def summary(findings: list[Finding], limit: int = 9_000) -> str:
    """One paragraph for the check: counts and where, with hashes; never the values."""
    if not findings:
        return "no secrets found"
    head = f"{len(findings)} possible secret{'s' if len(findings) != 1 else ''} (SHA-1 of each value shown): "
    parts: list[str] = []
    for finding in findings:
        part = finding.describe()
        if len(head) + sum(len(p) + 2 for p in parts) + len(part) > limit:
            parts.append(f"… and {len(findings) - len(parts)} more")
            break
        parts.append(part)
    return head + "; ".join(parts)
