import json

import pytest
from govctl.releases.conventional import SourceCommit
from govctl.releases.versioning import BumpPolicy, VersioningError, next_version


def commit(message: str, sha_char: str = "a") -> SourceCommit:
    return SourceCommit(sha_char * 40, message)


@pytest.mark.parametrize(
    "message, expected_bump, expected_version",
    [
        ("feat: add export", "minor", "1.4.0"),
        ("fix: handle empty list", "patch", "1.3.3"),
        ("perf: cache the snapshot", "patch", "1.3.3"),
        ("revert: undo export", "patch", "1.3.3"),
        ("docs: explain hooks", "none", None),
        ("chore(deps): bump httpx", "none", None),
        ("feat!: drop v1 API", "major", "2.0.0"),
        ("docs!: drop the old guide", "major", "2.0.0"),
        ("fix: x\n\nBREAKING CHANGE: the config moved", "major", "2.0.0"),
        ("fix: x\n\nBREAKING-CHANGE: the config moved", "major", "2.0.0"),
        ("FEAT(Api): upper-case type", "minor", "1.4.0"),
    ],
)
def test_default_policy__bumps_by_commit_kind(message, expected_bump, expected_version):
    result = next_version(current="1.3.2", commits=[commit(message)])

    assert (result.bump, result.next_version) == (expected_bump, expected_version)


def test_several_commits__highest_level_wins_and_is_attributed():
    result = next_version(
        current="1.3.2",
        commits=[commit("fix: a", "1"), commit("feat(api): b", "2"), commit("chore: c", "3")],
    )

    assert (result.bump, result.next_version) == ("minor", "1.4.0")
    per_commit = [(e.sha, e.subject, e.bump) for e in result.explanation if e.sha]
    assert per_commit == [
        ("1" * 40, "fix: a", "patch"),
        ("2" * 40, "feat(api): b", "minor"),
        ("3" * 40, "chore: c", "none"),
    ]
    assert "type 'feat' → minor" in result.explanation[1].rule
    assert any("222222222222" in e.rule and "highest level: minor" in e.rule for e in result.explanation)


@pytest.mark.parametrize(
    "message, expected",
    [("feat!: rename the CLI", "0.5.0"), ("fix: x\n\nBREAKING CHANGE: y", "0.5.0"), ("feat: z", "0.5.0")],
)
def test_before_1_0_0__breaking_change_bumps_minor(message, expected):
    result = next_version(current="0.4.7", commits=[commit(message)])

    assert result.next_version == expected
    assert result.bump == "minor"


def test_before_1_0_0__rule_named_in_explanation():
    result = next_version(current="0.4.7", commits=[commit("feat!: rename")])

    assert "before 1.0.0 → minor" in result.explanation[0].rule


def test_no_previous_release__first_version_is_policy_initial_version():
    result = next_version(current=None, commits=[commit("fix: first")])

    assert result.next_version == "0.1.0"
    assert next_version(current=None, commits=[commit("docs: only")]).next_version is None


def test_custom_policy__applied_and_stored_as_json():
    policy = BumpPolicy(types={"feat": "minor", "fix": "patch", "docs": "patch"}, other_types="patch")

    stored = json.loads(json.dumps(policy.to_dict()))
    restored = BumpPolicy.from_dict(stored)
    result = next_version(current="2.0.0", commits=[commit("docs: typo")], policy=restored)

    assert restored == policy
    assert result.next_version == "2.0.1"
    assert result.to_dict()["policy"] == stored


def test_policy_from_dict__fills_defaults_for_missing_keys():
    assert BumpPolicy.from_dict({"breaking": "major"}) == BumpPolicy()


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"breaking": "huge"}, "breaking must be one of none, patch, minor, major"),
        ({"types": {"feat": "big"}}, "types['feat'] must be one of"),
        ({"types": {"fe at": "minor"}}, "is not a commit type"),
        ({"initial_version": "1.0"}, "initial_version"),
        ({"colour": "blue"}, "unknown key(s) colour"),
    ],
)
def test_policy_from_dict__bad_value_refused_with_reason(data, fragment):
    with pytest.raises(VersioningError) as caught:
        BumpPolicy.from_dict(data)

    assert fragment in str(caught.value)


def test_channel_from_stable__starts_prerelease_of_bumped_version():
    result = next_version(current="1.3.2", commits=[commit("feat: export")], channel="rc")

    assert result.next_version == "1.4.0-rc.1"
    assert result.channel == "rc"


@pytest.mark.parametrize("message", ["fix: small", "feat: another feature", "perf: faster"])
def test_channel_within_target__increments_prerelease_number(message):
    result = next_version(current="1.4.0-rc.1", commits=[commit(message)], channel="rc")

    assert result.next_version == "1.4.0-rc.2"
    assert "already targets 1.4.0" in result.explanation[-1].rule


def test_channel_beyond_target__restarts_on_bigger_target():
    result = next_version(current="1.4.0-rc.3", commits=[commit("feat!: new API")], channel="rc")

    assert result.next_version == "2.0.0-rc.1"
    assert "goes beyond" in result.explanation[-1].rule


def test_channel_patch_target_with_feature__moves_to_minor_target():
    result = next_version(current="1.4.1-beta.2", commits=[commit("feat: x")], channel="beta")

    assert result.next_version == "1.5.0-beta.1"


def test_channel_without_releasable_change__no_new_prerelease():
    result = next_version(current="1.4.0-rc.1", commits=[commit("docs: x")], channel="rc")

    assert result.next_version is None


def test_promote_to_stable__drops_prerelease_even_without_new_commits():
    assert next_version(current="1.4.0-rc.2", commits=[], channel="stable").next_version == "1.4.0"
    assert next_version(current="1.4.0-rc.2", commits=[commit("fix: y")]).next_version == "1.4.0"


def test_move_to_later_channel__starts_at_one():
    result = next_version(current="1.4.0-beta.5", commits=[], channel="rc")

    assert result.next_version == "1.4.0-rc.1"


def test_move_to_earlier_channel__refused():
    with pytest.raises(VersioningError) as caught:
        next_version(current="1.4.0-beta.5", commits=[commit("fix: x")], channel="alpha")

    assert "1.4.0-alpha.1 would not be greater than the current version 1.4.0-beta.5" in str(caught.value)


@pytest.mark.parametrize("channel", ["r.c", "12", "rc!", ""])
def test_bad_channel__refused(channel):
    with pytest.raises(VersioningError):
        next_version(current="1.0.0", commits=[commit("fix: x")], channel=channel)


def test_invalid_current_version__refused_with_reason():
    with pytest.raises(VersioningError) as caught:
        next_version(current="1.2", commits=[])

    assert "current version" in str(caught.value)


def test_release_as_footer__overrides_and_is_reported():
    result = next_version(current="1.3.2", commits=[commit("fix: x\n\nRelease-As: 3.0.0", "e"), commit("feat: y", "f")])

    assert result.next_version == "3.0.0"
    assert result.bump == "minor"
    assert result.release_as is not None
    assert (result.release_as.version, result.release_as.sha, result.release_as.subject) == (
        "3.0.0",
        "e" * 40,
        "fix: x",
    )
    assert "Release-As: 3.0.0 overrides the computed version" in result.explanation[-1].rule


def test_release_as_token__case_insensitive_and_applies_without_releasable_change():
    result = next_version(current="1.3.2", commits=[commit("chore: cut\n\nrelease-as: 1.5.0")])

    assert result.next_version == "1.5.0"


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("1.3.2", "must be greater than the current version 1.3.2"),
        ("1.0.0", "must be greater than the current version 1.3.2"),
        ("2.0", "Release-As: '2.0'"),
    ],
)
def test_release_as_not_usable__commit_reported_invalid(value, fragment):
    result = next_version(current="1.3.2", commits=[commit(f"feat: x\n\nRelease-As: {value}", "b")])

    assert result.next_version is None and result.release_as is None
    assert result.invalid_commits[0].sha == "b" * 40
    assert fragment in result.invalid_commits[0].errors[0]


def test_invalid_commits__listed_with_errors_and_not_counted():
    result = next_version(current="1.0.0", commits=[commit("Add feature", "c"), commit("fix: ok", "d")])

    assert result.next_version == "1.0.1"
    assert [(c.sha, c.subject) for c in result.invalid_commits] == [("c" * 40, "Add feature")]
    assert "line 1, column 4" in result.invalid_commits[0].errors[0]


def test_result__serialises_to_json():
    result = next_version(current="1.3.2", commits=[commit("feat: x"), commit("oops", "9")], channel="rc")

    data = json.loads(json.dumps(result.to_dict()))

    assert data["next_version"] == "1.4.0-rc.1" and data["bump"] == "minor"
    assert data["invalid_commits"][0]["sha"] == "9" * 40
    assert data["explanation"][0] == {
        "bump": "minor",
        "rule": "type 'feat' → minor",
        "sha": "a" * 40,
        "subject": "feat: x",
    }
