"""Policy options real projects use (issue 13): ignore `!`, a path filter, a minimum patch, per-type bumps,
BEGIN_COMMIT_OVERRIDE blocks; all stored as data with the release."""

import pytest
from govctl.releases.conventional import SourceCommit
from govctl.releases.versioning import BumpPolicy, VersioningError, next_version


def sha(char):
    return char * 40


def test_breaking_mark_ignored__bang_header_is_a_minor_but_footer_still_major():
    policy = BumpPolicy(breaking_mark=False)

    bang = next_version(current="2.0.0", commits=[SourceCommit(sha("a"), "feat!: x")], policy=policy)
    footer = next_version(current="2.0.0", policy=policy,
                          commits=[SourceCommit(sha("b"), "feat: x\n\nBREAKING CHANGE: y")])

    assert (bang.next_version, footer.next_version) == ("2.1.0", "3.0.0")


def test_path_filter__only_commits_touching_the_package_count():
    policy = BumpPolicy(paths=("packages/core",))
    commits = [
        SourceCommit(sha("a"), "feat: cli flag", files=("packages/cli/main.py",)),
        SourceCommit(sha("b"), "fix: core crash", files=("packages/core/run.py", "README.md")),
        SourceCommit(sha("c"), "feat: core-extras", files=("packages/core-extras/x.py",)),
    ]

    result = next_version(current="1.0.0", commits=commits, policy=policy)

    assert result.next_version == "1.0.1"
    assert [item.sha for item in result.included] == [sha("b")]


def test_path_filter_without_file_list__counted_and_said():
    result = next_version(current="1.0.0", commits=[SourceCommit(sha("a"), "feat: x")],
                          policy=BumpPolicy(paths=("packages/core",)))

    assert result.next_version == "1.1.0"
    assert any("path filter cannot apply" in line for line in result.explain())


def test_minimum_patch__any_commit_even_non_conventional_releases_a_patch():
    commits = [SourceCommit(sha("a"), "Update README"), SourceCommit(sha("b"), "chore: deps")]

    default = next_version(current="1.0.0", commits=commits)
    minimum = next_version(current="1.0.0", commits=commits, policy=BumpPolicy(minimum_bump="patch"))

    assert (default.next_version, minimum.next_version) == (None, "1.0.1")


def test_per_type_bump__refactor_as_patch():
    policy = BumpPolicy(types={"feat": "minor", "fix": "patch", "refactor": "patch"})

    result = next_version(current="1.0.0", commits=[SourceCommit(sha("a"), "refactor: split module")], policy=policy)

    assert result.next_version == "1.0.1"


def test_commit_override_block__replaces_the_squashed_message():
    message = ("chore: sync generated code (#77)\n\nBEGIN_COMMIT_OVERRIDE\nfeat: add retry settings\n"
               "fix: close the channel on exit\nEND_COMMIT_OVERRIDE\n")
    commits = [SourceCommit(sha("a"), message)]

    plain = next_version(current="1.0.0", commits=commits)
    overridden = next_version(current="1.0.0", commits=commits, policy=BumpPolicy(commit_override=True))

    assert (plain.next_version, overridden.next_version) == (None, "1.1.0")
    assert [item.commit.description for item in overridden.included] == ["add retry settings",
                                                                          "close the channel on exit"]


def test_new_policy_keys__round_trip_through_stored_json():
    policy = BumpPolicy(breaking_mark=False, paths=("pkg/a",), minimum_bump="patch", commit_override=True,
                        cancel_reverts=False, changelog_sections=[["feat", "New"], ["fix", "Fixed"]])

    assert BumpPolicy.from_dict(policy.to_dict()) == policy
    assert policy.to_dict()["changelog_sections"] == [["feat", "New"], ["fix", "Fixed"]]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"minimum_bump": "minor"}, "minimum_bump must be none or patch"),
        ({"breaking_mark": "no"}, "breaking_mark must be true or false"),
        ({"paths": "packages/core"}, "paths must be a list"),
        ({"changelog_sections": [["feat"]]}, "changelog_sections must be a list of [type, heading] pairs"),
    ],
)
def test_bad_new_policy_key__refused_with_reason(data, fragment):
    with pytest.raises(VersioningError, match=None) as caught:
        BumpPolicy.from_dict(data)

    assert fragment in str(caught.value)


def test_nested_commits__headers_in_the_last_paragraph_count_as_commits_of_their_own():
    message = ("chore: regenerate client (#90)\n\nfeat: add retry settings\r\nfix: close the channel\r\n"
               "docs: clarify timeouts")
    commits = [SourceCommit(sha("a"), message)]

    plain = next_version(current="1.0.0", commits=commits)
    nested = next_version(current="1.0.0", commits=commits, policy=BumpPolicy(nested_commits=True))

    assert (plain.next_version, nested.next_version) == (None, "1.1.0")
    assert [item.commit.type for item in nested.included] == ["chore", "feat", "fix", "docs"]


def test_nested_commits__a_header_in_an_earlier_paragraph_is_body_text():
    message = "chore: update generator\n\n* chore: bump\n\nfeat: something upstream\nPiperOrigin-RevId: 1\n\nCopy-Tag: x"

    result = next_version(current="1.0.0", commits=[SourceCommit(sha("a"), message)],
                          policy=BumpPolicy(nested_commits=True))

    assert result.next_version is None


def test_body_glued_to_header__read_as_body_unless_the_policy_follows_the_letter():
    commits = [SourceCommit(sha("a"), "feat(init): add an init command\n- useful for new users\n")]

    lenient = next_version(current="1.2.0", commits=commits)
    strict = next_version(current="1.2.0", commits=commits, policy=BumpPolicy(glued_body=False))

    assert (lenient.next_version, lenient.complete) == ("1.3.0", True)
    assert (strict.next_version, strict.complete) == (None, False)
