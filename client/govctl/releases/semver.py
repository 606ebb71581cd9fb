"""Semantic Versioning 2.0.0 (https://semver.org/spec/v2.0.0.html): strict parsing and precedence.

Rich comparisons (`<`, `<=`, ...) follow SemVer *precedence*, which ignores build metadata, while `==`
stays structural: `1.0.0+a` and `1.0.0+b` are different versions with the same precedence. Use `compare`
when "same precedence" is what you mean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cmp_to_key

Identifier = int | str

_IDENTIFIER_CHARS = re.compile(r"[0-9A-Za-z-]+")
_DIGITS = re.compile(r"[0-9]+")
BUMP_LEVELS = ("none", "patch", "minor", "major")


class InvalidVersion(ValueError):
    """A string that is not a SemVer 2.0.0 version; the message says what is wrong."""


def _check_numeric(part: str, name: str, text: str) -> int:
    if part == "":
        raise InvalidVersion(f"{text!r}: the {name} version is empty")
    if not _DIGITS.fullmatch(part):
        raise InvalidVersion(f"{text!r}: the {name} version {part!r} must be a non-negative integer (digits only)")
    if len(part) > 1 and part[0] == "0":
        raise InvalidVersion(f"{text!r}: the {name} version {part!r} has a leading zero")
    return int(part)


def _split_identifiers(part: str, name: str, text: str) -> list[str]:
    identifiers = part.split(".")
    for position, identifier in enumerate(identifiers, start=1):
        if identifier == "":
            raise InvalidVersion(f"{text!r}: {name} identifier {position} is empty")
        if not _IDENTIFIER_CHARS.fullmatch(identifier):
            raise InvalidVersion(
                f"{text!r}: {name} identifier {identifier!r} may contain only ASCII letters, digits and '-'"
            )
    return identifiers


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[Identifier, ...] = ()
    build: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Version:
        return parse(text)

    def __str__(self) -> str:
        out = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            out += "-" + ".".join(str(identifier) for identifier in self.prerelease)
        if self.build:
            out += "+" + ".".join(self.build)
        return out

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    @property
    def core(self) -> Version:
        """The release this version leads up to: prerelease and build dropped."""
        return Version(self.major, self.minor, self.patch)

    def precedence_key(self) -> tuple:
        # A release outranks its pre-releases (1.0.0-rc.1 < 1.0.0), hence (1,) against (0, ...). Numeric
        # identifiers rank below alphanumeric ones; tuple comparison gives "a longer set wins when all
        # preceding identifiers are equal" for free.
        if not self.prerelease:
            pre: tuple = (1,)
        else:
            pre = (0, *((0, i, "") if isinstance(i, int) else (1, 0, i) for i in self.prerelease))
        return (self.major, self.minor, self.patch, pre)

    def bump(self, level: str) -> Version:
        """The next release at `level` ("major", "minor" or "patch"); prerelease and build are dropped."""
        if level == "major":
            return Version(self.major + 1, 0, 0)
        if level == "minor":
            return Version(self.major, self.minor + 1, 0)
        if level == "patch":
            return Version(self.major, self.minor, self.patch + 1)
        raise ValueError(f"cannot bump a version by {level!r}: expected major, minor or patch")

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.precedence_key() < other.precedence_key()

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.precedence_key() <= other.precedence_key()

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.precedence_key() > other.precedence_key()

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.precedence_key() >= other.precedence_key()


def parse(text: str) -> Version:
    """Parse a SemVer 2.0.0 version string, raising `InvalidVersion` with the reason."""
    if not isinstance(text, str):
        raise InvalidVersion(f"expected a version string, got {type(text).__name__}")
    if text == "":
        raise InvalidVersion("the version is empty")
    if text != text.strip():
        raise InvalidVersion(f"{text!r}: leading or trailing whitespace is not allowed")
    if text[0] in "vV" and len(text) > 1 and text[1].isdigit():
        raise InvalidVersion(f"{text!r}: a 'v' prefix belongs to tag names, not to versions (use {text[1:]!r})")
    rest, plus, build_part = text.partition("+")
    if plus and build_part == "":
        raise InvalidVersion(f"{text!r}: build metadata after '+' is empty")
    core_part, dash, pre_part = rest.partition("-")
    if dash and pre_part == "":
        raise InvalidVersion(f"{text!r}: the pre-release after '-' is empty")
    numbers = core_part.split(".")
    if len(numbers) != 3:
        raise InvalidVersion(
            f"{text!r}: expected MAJOR.MINOR.PATCH (three numbers separated by dots) before any '-' or '+', "
            f"found {core_part!r}"
        )
    major, minor, patch = (
        _check_numeric(part, name, text) for part, name in zip(numbers, ("major", "minor", "patch"), strict=True)
    )
    prerelease: list[Identifier] = []
    if dash:
        for identifier in _split_identifiers(pre_part, "pre-release", text):
            if _DIGITS.fullmatch(identifier):
                if len(identifier) > 1 and identifier[0] == "0":
                    raise InvalidVersion(f"{text!r}: numeric pre-release identifier {identifier!r} has a leading zero")
                prerelease.append(int(identifier))
            else:
                prerelease.append(identifier)
    build: list[str] = _split_identifiers(build_part, "build metadata", text) if plus else []
    return Version(major, minor, patch, tuple(prerelease), tuple(build))


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except InvalidVersion:
        return False
    return True


def compare(a: Version | str, b: Version | str) -> int:
    """-1, 0 or 1 by SemVer precedence (build metadata ignored)."""
    key_a = (a if isinstance(a, Version) else parse(a)).precedence_key()
    key_b = (b if isinstance(b, Version) else parse(b)).precedence_key()
    return (key_a > key_b) - (key_a < key_b)


def sort_versions(versions: list[Version]) -> list[Version]:
    """Lowest precedence first; versions of equal precedence keep their input order."""
    return sorted(versions, key=cmp_to_key(compare))


def bump_rank(level: str) -> int:
    try:
        return BUMP_LEVELS.index(level)
    except ValueError:
        raise ValueError(f"unknown bump level {level!r}: expected one of {', '.join(BUMP_LEVELS)}") from None


def difference(old: Version, new: Version) -> str:
    """The most significant field that differs between two versions: "major", "minor", "patch" or "none"."""
    if old.major != new.major:
        return "major"
    if old.minor != new.minor:
        return "minor"
    if old.patch != new.patch or old.prerelease != new.prerelease:
        return "patch"
    return "none"
