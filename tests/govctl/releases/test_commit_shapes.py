"""Commit shapes from real histories (issue 13): glued trailers, BREAKING CHANGE on the next line, git's own
revert messages, and rejected commits reported rather than silently dropped."""

import json

import pytest
from govctl.cli import main
from govctl.releases import conventional
from govctl.releases.conventional import SourceCommit
from govctl.releases.versioning import BumpPolicy, next_version


def sha(char):
    return char * 40


@pytest.mark.parametrize(
    "glued",
    ["Fixes #42", "Co-authored-by: Kim Lee <kim@example.org>", "Error: connection refused (os error 111)"],
)
def test_trailer_glued_to_body__read_as_body_and_commit_counts(glued):
    message = f"refactor!: drop the legacy exporter\n\nThe exporter was unused.\n{glued}"

    commit = conventional.parse(message)
    result = next_version(current="3.4.1", commits=[SourceCommit(sha("a"), message)])

    assert commit.body == f"The exporter was unused.\n{glued}" and commit.footers == ()
    assert (result.next_version, result.complete) == ("4.0.0", True)


def test_breaking_change_text_on_next_line__marks_breaking_with_the_note():
    commit = conventional.parse("feat(api): v2 routes\n\nBREAKING CHANGE:\n  /v1 routes are gone\n  use /v2")

    assert commit.breaking and commit.breaking_notes == ["/v1 routes are gone\n  use /v2"]


def test_breaking_change_glued_to_body__still_breaking():
    commit = conventional.parse("fix: tokens\n\nRotated signing keys.\nBREAKING CHANGE: old tokens are refused")

    assert commit.body == "Rotated signing keys." and commit.breaking_notes == ["old tokens are refused"]


def test_git_revert_in_same_range__cancels_both():
    commits = [
        SourceCommit(sha("2"), f'Revert "feat: bulk import"\n\nThis reverts commit {sha("1")}.\n'),
        SourceCommit(sha("1"), "feat: bulk import"),
        SourceCommit(sha("3"), "fix: typo in report"),
    ]

    result = next_version(current="1.2.0", commits=commits)

    assert (result.next_version, result.complete) == ("1.2.1", True)
    assert [item.sha for item in result.included] == [sha("3")]
    assert any("reverted by 222222222222 in the same range" in line for line in result.explain())


def test_revert_of_revert_in_range__original_counts_again():
    commits = [
        SourceCommit(sha("3"), f'Revert "Revert "feat: bulk import""\n\nThis reverts commit {sha("2")}.'),
        SourceCommit(sha("2"), f'Revert "feat: bulk import"\n\nThis reverts commit {sha("1")}.'),
        SourceCommit(sha("1"), "feat: bulk import"),
    ]

    assert next_version(current="1.2.0", commits=commits).next_version == "1.3.0"


def test_git_revert_of_earlier_release__counts_as_revert_type():
    commits = [SourceCommit(sha("2"), f'Revert "feat: bulk import"\n\nThis reverts commit {sha("9")[:12]}.')]

    result = next_version(current="1.3.0", commits=commits)

    assert (result.next_version, result.complete) == ("1.3.1", True)
    assert any("not in this range (released earlier): counts as type 'revert'" in line for line in result.explain())


def test_reverts_not_cancelled_by_policy__both_count():
    commits = [
        SourceCommit(sha("2"), f'Revert "feat: bulk import"\n\nThis reverts commit {sha("1")}.'),
        SourceCommit(sha("1"), "feat: bulk import"),
    ]

    assert next_version(current="1.2.0", commits=commits, policy=BumpPolicy(cancel_reverts=False)).next_version \
        == "1.3.0"


def test_rejected_commit__reported_in_result_json_and_strict_fails(tmp_path, capsys):
    commits = tmp_path / "commits.json"
    commits.write_text(json.dumps([{"sha": sha("a"), "message": "feat: x"},
                                   {"sha": sha("b"), "message": "Refactor!!: broken header"}]))

    code = main(["semver", "next", "--current", "1.0.0", "--messages-file", str(commits), "--json"])
    out, err = capsys.readouterr()
    strict = main(["semver", "next", "--current", "1.0.0", "--messages-file", str(commits), "--strict"])
    strict_err = capsys.readouterr().err

    data = json.loads(out)
    assert code == 0 and data["complete"] is False and data["invalid_commits"][0]["sha"] == sha("b")
    assert "warning: 1 commit(s) rejected" in err and "rejected commit bbbbbbbbbbbb" in err
    assert strict == 1 and "1 commit(s) are not Conventional Commits (--strict)" in strict_err
