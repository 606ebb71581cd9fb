"""The update bots' configuration (.github/dependabot.yml, renovate.json): weekly, grouped alike, dev patches
auto-merged, and every `# update-cap:` of requirements*.txt held by both bots, so no proposal needs Python > 3.11."""

import fnmatch
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = [ROOT / "requirements.txt", ROOT / "requirements-dev.txt"]
CAP = re.compile(r"#\s*update-cap:\s*(?P<name>[A-Za-z0-9._-]+)\s*<\s*(?P<version>[0-9][0-9.]*)")
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>\S+)")
# /work/shared/PITFALLS.md ("Versions"): packages that dropped Python 3.11 and that bots propose anyway
PITFALLS_CAPS = {"django": "6", "django-unfold": "0.92", "django-health-check": "4.9"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _caps() -> dict[str, str]:
    caps = {}
    for path in REQUIREMENTS:
        for match in CAP.finditer(path.read_text()):
            caps[_norm(match["name"])] = match["version"]
    return caps


def _pins(path: Path) -> dict[str, str]:
    return {_norm(m["name"]): m["version"] for line in path.read_text().splitlines() if (m := PIN.match(line))}


@pytest.fixture(scope="module")
def dependabot():
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    return next(u for u in config["updates"] if u["package-ecosystem"] == "pip" and u["directory"] == "/")


@pytest.fixture(scope="module")
def renovate():
    return json.loads((ROOT / "renovate.json").read_text())


def _renovate_matches(rule: dict, name: str) -> bool:
    for pattern in rule.get("matchPackageNames", []):
        regex = re.fullmatch(r"/(.*)/(i?)", pattern)
        if regex and re.search(regex[1], name, re.IGNORECASE if regex[2] else 0):
            return True
        if not regex and pattern.lower() == name.lower():
            return True
    return False


def test_caps__every_pitfalls_cap_is_declared_and_each_pin_is_below_its_cap():
    caps = _caps()
    assert PITFALLS_CAPS.items() <= caps.items()
    from packaging.version import Version

    for path in REQUIREMENTS:
        for name, version in _pins(path).items():
            if name in caps:
                assert Version(version) < Version(caps[name]), f"{path.name}: {name}=={version} breaks its cap"


def test_dependabot__ignores_every_capped_version(dependabot):
    ignored = {_norm(item["dependency-name"]): item["versions"] for item in dependabot["ignore"]}
    for name, cap in _caps().items():
        assert ignored.get(name) == [f">={cap}"], f"dependabot does not cap {name} below {cap}"


def test_renovate__allows_only_versions_below_every_cap(renovate):
    for name, cap in _caps().items():
        allowed = [rule["allowedVersions"] for rule in renovate["packageRules"]
                   if "allowedVersions" in rule and _renovate_matches(rule, name)]
        assert allowed == [f"<{cap}"], f"renovate does not cap {name} below {cap}"


def test_both_bots__run_weekly(dependabot, renovate):
    assert dependabot["schedule"]["interval"] == "weekly"
    assert renovate["schedule"] == ["before 6am on monday"]


def _dependabot_group(dependabot, name: str, update_type: str) -> str | None:
    for group, spec in dependabot["groups"].items():  # the first matching group wins
        if "update-types" in spec and update_type not in spec["update-types"]:
            continue
        if any(fnmatch.fnmatch(name, pattern) for pattern in spec["patterns"]):
            return group
    return None


def _renovate_group(renovate, name: str, update_type: str, file: str) -> str | None:
    group = None
    for rule in renovate["packageRules"]:  # later rules override earlier ones
        if "groupName" not in rule:
            continue
        if "matchFileNames" in rule and file not in rule["matchFileNames"]:
            continue
        if "matchUpdateTypes" in rule and update_type not in rule["matchUpdateTypes"]:
            continue
        if "matchPackageNames" in rule and not _renovate_matches(rule, name):
            continue
        group = rule["groupName"]
    return group


GROUPS = {  # dependabot group -> renovate group
    "django": "Django family", "drf": "DRF family", "test-tools": "test tools",
    "dev-patches": "dev dependencies (patch)", None: None,
}


@pytest.mark.parametrize("update_type", ["patch", "minor", "major"])
def test_both_bots__group_every_pinned_package_alike(dependabot, renovate, update_type):
    for path in REQUIREMENTS:
        for name in _pins(path):
            ours = _dependabot_group(dependabot, name, update_type)
            assert GROUPS[ours] == _renovate_group(renovate, name, update_type, path.name), (name, update_type)


def test_families__django_drf_and_test_tools_are_grouped(dependabot, renovate):
    assert _dependabot_group(dependabot, "django", "minor") == "django"
    assert _dependabot_group(dependabot, "django-q2", "minor") == "django"
    assert _dependabot_group(dependabot, "djangorestframework", "minor") == "drf"
    assert _dependabot_group(dependabot, "drf-spectacular", "patch") == "drf"
    assert _dependabot_group(dependabot, "pytest-django", "minor") == "test-tools"
    assert _renovate_group(renovate, "Django", "minor", "requirements.txt") == "Django family"


def test_patch_updates_of_dev_dependencies_only__are_auto_merged(dependabot, renovate):
    dev_only = set(_pins(ROOT / "requirements-dev.txt"))
    runtime = set(_pins(ROOT / "requirements.txt"))
    for name in dev_only:
        assert _dependabot_group(dependabot, name, "patch") == "dev-patches", name
    for name in runtime:
        assert _dependabot_group(dependabot, name, "patch") != "dev-patches", name
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "dependabot-auto-merge.yml").read_text())
    merge_step = workflow["jobs"]["auto-merge"]["steps"][-1]
    assert "dependency-group == 'dev-patches'" in merge_step["if"] and "semver-patch" in merge_step["if"]
    assert "gh pr merge --auto" in merge_step["run"]
    automerged = [rule for rule in renovate["packageRules"] if rule.get("automerge")]
    assert automerged == [{**automerged[0], "matchFileNames": ["requirements-dev.txt"],
                           "matchUpdateTypes": ["patch"]}]
