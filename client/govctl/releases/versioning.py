"""The bump policy and the next version: which commits warrant which release, and why (which commits count at
all is `govctl.releases.commit_range`).

The policy is plain data (`BumpPolicy.to_dict()` / `from_dict()`) so that the portal stores the exact policy
each release was computed with. `next_version()` never guesses silently: every commit, rule, channel step and
`Release-As` override appears in the result's explanation.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from govctl.releases import semver
from govctl.releases.commit_range import Explanation, prepare_commits
from govctl.releases.conventional import ConventionalCommit, InvalidCommit, ParsedCommit, SourceCommit
from govctl.releases.semver import BUMP_LEVELS, InvalidVersion, Version, bump_rank

RELEASE_AS_FOOTER = "Release-As"
_CHANNEL = re.compile(r"[0-9A-Za-z-]*[A-Za-z][0-9A-Za-z-]*")
_DEFAULT_TYPES = {"feat": "minor", "fix": "patch", "perf": "patch", "revert": "patch"}
_LABEL = {"none": "no release", "patch": "patch", "minor": "minor", "major": "major"}
# Which types the changelog shows, under which heading, in this order; other types are left out of the notes
# (their breaking changes are still listed). chore/ci/docs/test/build/style and release commits stay out.
DEFAULT_CHANGELOG_SECTIONS = (("feat", "Features"), ("fix", "Bug Fixes"), ("perf", "Performance Improvements"),
                              ("revert", "Reverts"))


class VersioningError(ValueError):
    """The request itself cannot be answered (bad current version, channel going backwards, bad policy)."""


def _check_level(name: str, level: object) -> str:
    if level not in BUMP_LEVELS:
        raise VersioningError(f"bump policy: {name} must be one of {', '.join(BUMP_LEVELS)}, got {level!r}")
    return str(level)


@dataclass(frozen=True)
class BumpPolicy:
    """Which change level each kind of commit warrants. Types are matched case-insensitively."""

    breaking: str = "major"
    types: Mapping[str, str] = field(default_factory=lambda: dict(_DEFAULT_TYPES))
    other_types: str = "none"
    # SemVer item 4: before 1.0.0 anything may change, so a breaking change need not leave 0.x.
    initial_development_breaking: str = "minor"
    initial_version: str = "0.1.0"
    # False: the header's `!` does not mark a breaking change (the older Angular preset); footers still do.
    breaking_mark: bool = True
    # Non-empty: only commits touching a path under one of these prefixes count (a package in a monorepo).
    paths: tuple[str, ...] = ()
    # "patch": any commit in the range (even one that is not a Conventional Commit) releases at least a patch,
    # as conventional-recommended-bump's angular preset does; "none": only the rules above count.
    minimum_bump: str = "none"
    # True: a `BEGIN_COMMIT_OVERRIDE … END_COMMIT_OVERRIDE` block in a message (a squash-merged pull request's
    # body) replaces that commit's message with the block's commits (release-please's convention).
    commit_override: bool = False
    # True: a line of the body that is itself a Conventional header (`fix(utils): …`, its indented lines below it)
    # adds one more commit with the same SHA: release-please's "several changes in one commit".
    nested_commits: bool = False
    # True: a body that starts right below the header (no blank line) is read as body, as conventional-changelog,
    # release-please and semantic-release read it; False rejects the commit (the specification's letter).
    glued_body: bool = True
    # True: a git revert (`Revert "…"` + `This reverts commit <sha>.`) of a commit in the same range cancels it
    # (neither counts nor appears in the notes); a revert of an earlier release counts as type `revert`.
    cancel_reverts: bool = True
    # Changelog: [type, heading] pairs in display order (a list, since jsonb does not keep key order); types
    # not listed are left out of the notes. Several types may share a heading.
    changelog_sections: Any = DEFAULT_CHANGELOG_SECTIONS

    def __post_init__(self) -> None:
        _check_level("breaking", self.breaking)
        _check_level("other_types", self.other_types)
        _check_level("initial_development_breaking", self.initial_development_breaking)
        _check_level("minimum_bump", self.minimum_bump)
        if self.minimum_bump not in ("none", "patch"):
            raise VersioningError("bump policy: minimum_bump must be none or patch")
        for name in ("breaking_mark", "commit_override", "nested_commits", "glued_body", "cancel_reverts"):
            if not isinstance(getattr(self, name), bool):
                raise VersioningError(f"bump policy: {name} must be true or false")
        if isinstance(self.paths, str) or not all(isinstance(p, str) and p.strip() for p in self.paths):
            raise VersioningError("bump policy: paths must be a list of non-empty path prefixes")
        object.__setattr__(self, "paths", tuple(p.strip().removeprefix("./") for p in self.paths))
        sections = self.changelog_sections
        pairs = list(sections.items()) if isinstance(sections, Mapping) else sections
        if isinstance(pairs, str) or not isinstance(pairs, list | tuple) or not all(
            isinstance(p, list | tuple) and len(p) == 2 and isinstance(p[0], str) and re.fullmatch(r"[A-Za-z]+", p[0])
            and isinstance(p[1], str) and p[1].strip() for p in pairs
        ):
            raise VersioningError("bump policy: changelog_sections must be a list of [type, heading] pairs")
        object.__setattr__(self, "changelog_sections", tuple((t.lower(), h.strip()) for t, h in pairs))
        if not isinstance(self.types, Mapping):
            raise VersioningError("bump policy: types must map commit types to bump levels")
        types = {}
        for type_, level in self.types.items():
            if not isinstance(type_, str) or not re.fullmatch(r"[A-Za-z]+", type_):
                raise VersioningError(f"bump policy: {type_!r} is not a commit type (letters only)")
            types[type_.lower()] = _check_level(f"types[{type_!r}]", level)
        # Frozen dataclass: normalising in place is the one sanctioned way to adjust a field after init.
        object.__setattr__(self, "types", types)
        try:
            initial = semver.parse(self.initial_version)
        except InvalidVersion as exc:
            raise VersioningError(f"bump policy: initial_version: {exc}") from None
        if initial.prerelease or initial.build:
            raise VersioningError("bump policy: initial_version must be a plain MAJOR.MINOR.PATCH")

    @property
    def section_titles(self) -> dict[str, str]:
        """Commit type → changelog heading, in display order."""
        return dict(self.changelog_sections)

    def to_dict(self) -> dict[str, Any]:
        return {
            "breaking": self.breaking,
            "types": dict(sorted(self.types.items())),
            "other_types": self.other_types,
            "initial_development_breaking": self.initial_development_breaking,
            "initial_version": self.initial_version,
            "breaking_mark": self.breaking_mark,
            "paths": list(self.paths),
            "minimum_bump": self.minimum_bump,
            "commit_override": self.commit_override,
            "nested_commits": self.nested_commits,
            "glued_body": self.glued_body,
            "cancel_reverts": self.cancel_reverts,
            "changelog_sections": [list(pair) for pair in self.changelog_sections],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BumpPolicy:
        """Build a policy from stored JSON; missing keys take the defaults, unknown keys are refused."""
        if not isinstance(data, Mapping):
            raise VersioningError("bump policy: expected a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise VersioningError(
                f"bump policy: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        values = dict(data)
        if isinstance(values.get("paths"), list):
            values["paths"] = tuple(values["paths"])
        return cls(**values)

    def is_breaking(self, commit: ConventionalCommit) -> bool:
        return any(f.is_breaking for f in commit.footers) or (self.breaking_mark and commit.breaking_mark)

    def breaking_notes(self, commit: ConventionalCommit) -> list[str]:
        notes = [footer.value for footer in commit.footers if footer.is_breaking]
        if not notes and self.breaking_mark and commit.breaking_mark:
            notes = [commit.description]
        return notes

    def touches_paths(self, source: SourceCommit) -> bool | None:
        """Whether the commit touches the policy's paths (None: the policy has none, or the files are unknown)."""
        if not self.paths or source.files is None:
            return None
        return any(f == p.rstrip("/") or f.startswith(p.rstrip("/") + "/") for f in source.files for p in self.paths)

    def level_for(self, commit: ConventionalCommit, current: Version | None) -> tuple[str, str]:
        """The change level a commit warrants and the rule that decided it, in words."""
        type_ = commit.normalized_type
        if type_ in self.types:
            type_level, type_rule = self.types[type_], f"type '{type_}' → {_LABEL[self.types[type_]]}"
        else:
            type_level = self.other_types
            type_rule = f"type '{type_}' is not in the policy's types → {_LABEL[self.other_types]}"
        if not self.is_breaking(commit):
            return type_level, type_rule
        how = "'!' in the header" if commit.breaking_mark and self.breaking_mark else "BREAKING CHANGE footer"
        if current is not None and current.major == 0:
            level = self.initial_development_breaking
            rule = f"breaking change ({how}) before 1.0.0 → {_LABEL[level]}"
        else:
            level = self.breaking
            rule = f"breaking change ({how}) → {_LABEL[level]}"
        if bump_rank(type_level) > bump_rank(level):
            return type_level, type_rule
        return level, rule


@dataclass(frozen=True)
class ReleaseAs:
    """A `Release-As: X.Y.Z` footer that overrode the computed version (kept for the audit trail)."""

    version: str
    sha: str
    subject: str


@dataclass(frozen=True)
class BumpResult:
    current_version: str | None
    # None when nothing warrants a release.
    next_version: str | None
    # The change level the commits warrant under the policy, whatever the channel or override did.
    bump: str
    channel: str | None
    explanation: tuple[Explanation, ...]
    invalid_commits: tuple[InvalidCommit, ...]
    release_as: ReleaseAs | None
    policy: BumpPolicy
    # The commits that counted, in the given order (what the changelog lists).
    included: tuple[ParsedCommit, ...] = ()

    @property
    def complete(self) -> bool:
        """False when a commit was rejected: its bump is missing, so the version may be too low."""
        return not self.invalid_commits

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        del data["included"]
        data["complete"] = self.complete
        data["policy"] = self.policy.to_dict()
        data["invalid_commits"] = [
            {"sha": c.sha, "subject": c.subject, "errors": list(c.errors)} for c in self.invalid_commits
        ]
        return data

    def explain(self) -> list[str]:
        return [str(step) for step in self.explanation]


def _parse_current(current: str | Version | None) -> Version | None:
    if current is None or isinstance(current, Version):
        return current
    try:
        return semver.parse(current)
    except InvalidVersion as exc:
        raise VersioningError(f"current version: {exc}") from None


def _parse_channel(channel: str | None) -> str | None:
    if channel is None or channel == "stable":
        return None
    if not _CHANNEL.fullmatch(channel):
        raise VersioningError(
            f"channel {channel!r} must be one pre-release identifier with at least one letter (e.g. alpha, beta, rc)"
        )
    return channel


def _release_as_checks(
    parsed: list[ParsedCommit], current: Version | None
) -> tuple[list[ParsedCommit], list[InvalidCommit], list[tuple[Version, ParsedCommit]]]:
    """Separate commits whose Release-As footer is unusable: an override that cannot apply is an error in the
    commit, not something to ignore quietly."""
    valid: list[ParsedCommit] = []
    invalid: list[InvalidCommit] = []
    overrides: list[tuple[Version, ParsedCommit]] = []
    for item in parsed:
        values = item.commit.footer_values(RELEASE_AS_FOOTER)
        errors: list[str] = []
        if len(values) > 1:
            errors.append(f"{len(values)} {RELEASE_AS_FOOTER} footers: give at most one")
        elif values:
            try:
                wanted = semver.parse(values[0])
            except InvalidVersion as exc:
                errors.append(f"{RELEASE_AS_FOOTER}: {exc}")
            else:
                if current is not None and not wanted > current:
                    errors.append(f"{RELEASE_AS_FOOTER}: {wanted} must be greater than the current version {current}")
                else:
                    overrides.append((wanted, item))
        if errors:
            invalid.append(InvalidCommit(item.sha, item.subject, tuple(errors)))
        else:
            valid.append(item)
    return valid, invalid, overrides


def _implied_level(core: Version) -> str:
    """Which bump from the previous release a pre-release's target implies: 1.4.0 a minor, 2.0.0 a major."""
    if core.patch:
        return "patch"
    if core.minor:
        return "minor"
    return "major"


def _on_channel(target: Version, channel: str, number: int = 1) -> Version:
    return Version(target.major, target.minor, target.patch, (channel, number))


def _from_prerelease(current: Version, level: str, channel: str | None, steps: list[Explanation]) -> Version | None:
    core = current.core
    implied = _implied_level(core)
    current_channel = current.prerelease[0] if isinstance(current.prerelease[0], str) else None
    if level != "none" and bump_rank(level) > bump_rank(implied):
        target = core.bump(level)
        result = target if channel is None else _on_channel(target, channel)
        steps.append(
            Explanation(
                level, f"{current} targets a {implied} release ({core}); a {level} change goes beyond it → {result}"
            )
        )
        return result
    if channel is None:
        steps.append(Explanation(level, f"promote pre-release {current} to stable {core}"))
        return core
    if channel != current_channel:
        steps.append(Explanation(level, f"move {current} to channel '{channel}' → {_on_channel(core, channel)}"))
        return _on_channel(core, channel)
    if level == "none":
        steps.append(Explanation(level, f"no commit warrants a new '{channel}' pre-release of {core}"))
        return None
    counter = current.prerelease[1] if len(current.prerelease) > 1 else 0
    if not isinstance(counter, int):
        raise VersioningError(f"cannot continue channel '{channel}' from {current}: expected {channel}.<number>")
    nxt = _on_channel(core, channel, counter + 1)
    steps.append(
        Explanation(level, f"{current} already targets {core} (a {implied} release) → next '{channel}': {nxt}")
    )
    return nxt


def next_version(
    *,
    current: str | Version | None,
    commits: Iterable[SourceCommit],
    policy: BumpPolicy | None = None,
    channel: str | None = None,
) -> BumpResult:
    """The next version after `current` (None: no release yet) for the commits since it.

    `channel` (e.g. "rc") asks for a pre-release on that channel; None or "stable" for a release.
    """
    policy = policy or BumpPolicy()
    cur = _parse_current(current)
    chan = _parse_channel(channel)
    prepared = prepare_commits(commits, policy)
    valid, bad_overrides, overrides = _release_as_checks(list(prepared.parsed), cur)
    invalid = [*prepared.invalid, *bad_overrides]

    steps: list[Explanation] = list(prepared.notes)
    level = "none"
    decided_by: ParsedCommit | None = None
    for item in valid:
        item_level, rule = policy.level_for(item.commit, cur)
        steps.append(Explanation(item_level, rule, item.sha, item.subject))
        if bump_rank(item_level) > bump_rank(level):
            level, decided_by = item_level, item
    if decided_by is None:
        steps.append(Explanation("none", f"none of the {len(valid)} valid commit(s) warrants a release"))
    else:
        steps.append(
            Explanation(level, f"highest level: {level} (first from {decided_by.sha[:12]} {decided_by.subject!r})")
        )
    if policy.minimum_bump == "patch" and prepared.counted and level == "none":
        level = "patch"
        steps.append(Explanation(level, f"policy minimum_bump: {prepared.counted} commit(s) in the range → patch"))
    if invalid:
        steps.append(Explanation("none", f"warning: {len(invalid)} commit(s) rejected (not Conventional Commits) "
                                 "and not counted: the version may be too low (--strict fails)"))

    release_as: ReleaseAs | None = None
    result: Version | None
    if overrides:
        wanted, item = max(overrides, key=lambda pair: pair[0].precedence_key())
        release_as = ReleaseAs(str(wanted), item.sha, item.subject)
        result = wanted
        steps.append(
            Explanation(
                level,
                f"{RELEASE_AS_FOOTER}: {wanted} overrides the computed version" + (" and the channel" if chan else ""),
                item.sha,
                item.subject,
            )
        )
    elif cur is None:
        if level == "none":
            result = None
            steps.append(Explanation("none", "no previous release and nothing to release"))
        else:
            initial = semver.parse(policy.initial_version)
            result = initial if chan is None else _on_channel(initial, chan)
            steps.append(Explanation(level, f"no previous release: first version {result} (policy initial_version)"))
    elif cur.prerelease:
        result = _from_prerelease(cur, level, chan, steps)
    elif level == "none":
        result = None
        steps.append(Explanation("none", f"{cur} stays the latest release"))
    else:
        target = cur.bump(level)
        result = target if chan is None else _on_channel(target, chan)
        on = "" if chan is None else f", on channel '{chan}' → {result}"
        steps.append(Explanation(level, f"{cur} + {level} → {target}{on}"))

    if result is not None and cur is not None and not result > cur:
        raise VersioningError(
            f"the next version {result} would not be greater than the current version {cur}"
            " (pre-release channels must move forward in SemVer order, e.g. alpha → beta → rc)"
        )
    return BumpResult(
        current_version=None if cur is None else str(cur),
        next_version=None if result is None else str(result),
        bump=level,
        channel=chan,
        explanation=tuple(steps),
        invalid_commits=tuple(invalid),
        release_as=release_as,
        policy=policy,
        included=tuple(valid),
    )
