import pytest
from govctl.releases.changelog import escape_markdown, render_changelog
from govctl.releases.conventional import SourceCommit
from govctl.releases.versioning import BumpPolicy

REPO = "https://github.com/acme/shop"


def sha(char: str) -> str:
    return char * 40


def test_default_policy__breaking_first_then_policy_types_and_no_chores():
    text = render_changelog(
        version="2.0.0",
        date="2025-03-01",
        commits=[
            SourceCommit(sha("1"), "revert: undo cache"),
            SourceCommit(sha("2"), "perf: faster"),
            SourceCommit(sha("3"), "fix: crash"),
            SourceCommit(sha("4"), "feat(api)!: drop v1"),
            SourceCommit(sha("5"), "docs: guide"),
            SourceCommit(sha("6"), "chore(main): release 2.0.0"),
        ],
    )

    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "## 2.0.0 (2025-03-01)",
        "### ⚠ BREAKING CHANGES",
        "### Features",
        "### Bug Fixes",
        "### Performance Improvements",
        "### Reverts",
    ]
    assert "guide" not in text and "release 2.0.0" not in text


def test_breaking_footer__note_listed_and_commit_kept_in_its_type():
    text = render_changelog(
        version="2.0.0",
        repo_url=REPO,
        commits=[
            SourceCommit(sha("a"), "fix(auth): rotate keys\n\nBREAKING CHANGE: old tokens stop working\nreissue them")
        ],
    )

    link = f"([aaaaaaa]({REPO}/commit/{sha('a')}))"
    assert f"### ⚠ BREAKING CHANGES\n\n* **auth:** old tokens stop working {link}\n  reissue them\n" in text
    assert f"### Bug Fixes\n\n* **auth:** rotate keys {link}" in text


def test_repo_url__links_commits_and_pr_references():
    text = render_changelog(
        version="1.4.0",
        repo_url=REPO + ".git/",
        commits=[SourceCommit(sha("b"), "feat(flags): kill switch (#123)")],
    )

    assert f"* **flags:** kill switch ([#123]({REPO}/pull/123)) ([bbbbbbb]({REPO}/commit/{sha('b')}))" in text


def test_pr_url_input__linked_once_even_when_subject_mentions_it():
    text = render_changelog(
        version="1.4.0",
        repo_url=REPO,
        commits=[
            SourceCommit(sha("c"), "fix: a", pr_url=f"{REPO}/pull/7"),
            SourceCommit(sha("d"), "fix: b (#8)", pr_url=f"{REPO}/pull/8"),
        ],
    )

    assert f"* a ([#7]({REPO}/pull/7)) ([ccccccc]" in text
    assert text.count("/pull/8") == 1


def test_without_repo_url__short_shas_as_text():
    text = render_changelog(version="1.0.1", commits=[SourceCommit(sha("e"), "fix: b (#9)")])

    assert "* b (#9) (eeeeeee)" in text


def test_markdown_in_subjects__escaped_outside_code_spans():
    assert escape_markdown("use *stars* and <b> with `a_b*`") == r"use \*stars\* and \<b\> with `a_b*`"
    text = render_changelog(version="1.0.1", commits=[SourceCommit(sha("f"), "fix: [link](javascript:x)")])
    assert r"\[link\](javascript:x)" in text


def test_policy_sections__order_headings_and_unlisted_types_left_out_but_their_breaking_changes_stay():
    policy = BumpPolicy(changelog_sections={"fix": "Fixes", "docs": "Docs"})
    text = render_changelog(
        version="3.0.0",
        policy=policy,
        commits=[
            SourceCommit(sha("1"), "chore: tidy"),
            SourceCommit(sha("2"), "chore!: drop Python 3.10"),
            SourceCommit(sha("3"), "docs: guide"),
            SourceCommit(sha("4"), "fix: crash"),
            SourceCommit(sha("5"), "wip"),
        ],
    )

    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == ["## 3.0.0", "### ⚠ BREAKING CHANGES", "### Fixes", "### Docs"]
    assert "tidy" not in text and "wip" not in text
    assert "* drop Python 3.10 (2222222)" in text


def test_breaking_mark_ignored_by_policy__no_breaking_note():
    text = render_changelog(
        version="1.1.0", policy=BumpPolicy(breaking_mark=False), commits=[SourceCommit(sha("1"), "feat!: x")]
    )

    assert "BREAKING" not in text and "### Features\n\n* x (1111111)" in text


def test_reverted_in_same_range__neither_in_notes():
    text = render_changelog(
        version="1.0.1",
        commits=[
            SourceCommit(sha("2"), f'Revert "feat: shiny"\n\nThis reverts commit {sha("1")}.'),
            SourceCommit(sha("1"), "feat: shiny"),
            SourceCommit(sha("3"), "fix: crash"),
        ],
    )

    assert "shiny" not in text and "* crash (3333333)" in text


def test_nothing_to_list__says_so():
    assert render_changelog(version="1.0.1", commits=[]) == "## 1.0.1\n\nNo notable changes.\n"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://host/repo", "github.com/acme/shop"])
def test_non_web_repo_url__refused(url):
    with pytest.raises(ValueError, match="repository URL must be an http"):
        render_changelog(version="1.0.0", repo_url=url, commits=[])


def test_unsafe_pr_url__shown_as_text_not_link():
    text = render_changelog(
        version="1.0.1", repo_url=REPO, commits=[SourceCommit(sha("1"), "fix: x", pr_url="javascript:alert(1)")]
    )

    assert "](javascript" not in text
