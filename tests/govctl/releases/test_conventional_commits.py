import pytest
import yaml
from govctl.releases import conventional
from govctl.releases.conventional import ConventionalCommitError, SourceCommit

from tests.conformance import conformance_dir

CONFORMANCE_FILE = conformance_dir() / "conventional-commits" / "tests.yaml"
CASES = yaml.safe_load(CONFORMANCE_FILE.read_text(encoding="utf-8"))
# Where govctl deliberately reads a message differently from that suite, with the reason (issue 13).
DIFFERS_FROM_SUITE = {
    # The specification puts footers one blank line after the body; a `Token: value` line glued to the body
    # is body text (real histories glue `Fixes #1`, `Co-authored-by:` and pasted `Error:` lines to the body).
    "invalid - no empty line between body and footer": {"body": "body text\nfooter: value"},
}


def test_conformance_file__holds_valid_and_invalid_cases():
    kinds = {bool(case["expected"].get("mustFail")) for case in CASES}
    assert len(CASES) >= 23 and kinds == {True, False}


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_conformance_case__parses_as_expected(case):
    expected = case["expected"]
    if case["name"] in DIFFERS_FROM_SUITE:
        commit = conventional.parse(case["message"])
        assert commit.body == DIFFERS_FROM_SUITE[case["name"]]["body"] and commit.footers == ()
        return
    if expected.get("mustFail"):
        with pytest.raises(ConventionalCommitError) as caught:
            conventional.parse(case["message"])
        assert caught.value.errors, "an invalid message must say what is wrong"
        return
    commit = conventional.parse(case["message"])
    # In this suite (zbindenren/cc) "breaking" is the header's '!' only; a BREAKING CHANGE footer shows up in
    # `footer`. Absent keys mean empty values, as in the Go zero values the suite was written for.
    assert commit.type == expected["type"]
    assert commit.scope == expected.get("scope")
    assert commit.breaking_mark == expected["breaking"]
    assert commit.description == expected["description"]
    assert commit.body == expected.get("body")
    assert [{"token": f.token, "value": f.value} for f in commit.footers] == expected.get("footer", [])


@pytest.mark.parametrize(
    ("message", "line", "column", "fragment"),
    [
        ("type description", 1, 5, "expected ':' after the type"),
        ("fix:no space", 1, 5, "expected a space after ':'"),
        ("fix:  two spaces", 1, 6, "must start right after ': '"),
        ("fix(api: x", 1, 4, "not closed"),
        ("fix(): x", 1, 4, "scope is empty"),
        ("fix!(api): x", 1, 4, "'!' must come after the scope"),
        ("fix(api):", 1, 10, "description is missing"),
        ("fix", 1, 4, "expected ': '"),
        ("", 1, 1, "header (first line) is empty"),
        ("1fix: x", 1, 1, "type made of letters"),
        ("fix: x\nbody", 2, 1, "followed by a blank line"),
        ("fix: x\n\nbreaking change: y", 3, 1, "must be upper case"),
        ("fix: x\n\nBreaking-Change: y", 3, 1, "must be upper case"),
        ("fix: x\n\nBREAKING CHANGE:", 3, 18, "needs a description"),
        ("fix: x\n\nBREAKING CHANGE:x", 3, 16, "expected ': ' and a description"),
        ("fix: x\n\nRefs: 1\nBREAKING CHANGE: \n\nAcked-by: z", 4, 18, "needs a description"),
    ],
)
def test_malformed_message__error_names_line_column_and_problem(message, line, column, fragment):
    errors = conventional.lint(message)

    assert errors, f"{message!r} should be rejected"
    assert (errors[0].line, errors[0].column) == (line, column)
    assert fragment in errors[0].message
    assert str(errors[0]).startswith(f"line {line}, column {column}: ")


def test_several_problems__all_reported():
    errors = conventional.lint("fix: x\n\nbreaking change: y\nBreaking-Change: z")

    assert [(e.line, e.column) for e in errors] == [(3, 1), (4, 1)]


def test_breaking_footer__marks_commit_breaking_without_bang():
    commit = conventional.parse("feat(api): new auth\n\nBREAKING CHANGE: tokens from v1 stop working")

    assert commit.breaking and not commit.breaking_mark
    assert commit.breaking_notes == ["tokens from v1 stop working"]


def test_bang_on_any_type__is_breaking_with_description_as_note():
    commit = conventional.parse("chore(deps)!: drop Python 3.10")

    assert commit.breaking and commit.breaking_mark
    assert commit.breaking_notes == ["drop Python 3.10"]


def test_type_and_footer_tokens__case_insensitive():
    commit = conventional.parse("FEAT(Api): add x\n\nREFS #12\nrelease-as: 2.0.0")

    assert commit.normalized_type == "feat"
    assert commit.footer_values("Refs") == ["#12"]
    assert commit.footer_values("Release-As") == ["2.0.0"]


def test_multiline_footer_value__runs_until_next_token():
    commit = conventional.parse(
        "fix: x\n\nBREAKING CHANGE: the config moved\n  to /etc/app\n\n  see docs\nReviewed-by: Ann"
    )

    assert [(f.token, f.value) for f in commit.footers] == [
        ("BREAKING CHANGE", "the config moved\n  to /etc/app\n\n  see docs"),
        ("Reviewed-by", "Ann"),
    ]


def test_footer_like_line_inside_earlier_body_paragraph__stays_body():
    commit = conventional.parse("fix: x\n\nWe changed it.\nNote: the old flag is gone.\n\nRefs: #4")

    assert commit.body == "We changed it.\nNote: the old flag is gone."
    assert [f.token for f in commit.footers] == ["Refs"]


def test_crlf_line_endings__parse_like_lf():
    commit = conventional.parse("fix(db): x\r\n\r\nbody\r\n\r\nRefs: 1\r\n")

    assert (commit.scope, commit.body, commit.footer_values("refs")) == ("db", "body", ["1"])


def test_git_cleanup__drops_comments_scissors_and_extra_blank_lines():
    raw = (
        "\n\nfeat: x   \n\n\n\nbody\n# Please enter the commit message\n"
        "# ------------------------ >8 ------------------------\ndiff --git a/x b/x\n"
    )

    assert conventional.git_cleanup(raw) == "feat: x\n\nbody\n"


def test_classify__separates_invalid_commits_with_errors():
    parsed, invalid = conventional.classify(
        [SourceCommit("a" * 40, "feat: ok"), SourceCommit("b" * 40, "Merge branch 'main'")]
    )

    assert [p.sha for p in parsed] == ["a" * 40]
    assert invalid[0].sha == "b" * 40 and invalid[0].subject == "Merge branch 'main'"
    assert "line 1, column 6" in invalid[0].errors[0]
