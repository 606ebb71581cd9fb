"""Replay of 386 real releases of six public projects (vendored, see tests/data/conformance/README.md): the
next version and changelog govctl plans for each, through `govctl semver next`, against what the real tool
released. The floors are the match counts reached on this branch (issue 13), so they cannot regress."""

import pytest

from tests.releases.real_releases import FOLDERS, ROOT, pairs, replay

# mode → (versions equal to the released version, changelog breaking/features/fixes sections that agree)
FLOORS = {"default": (364, 326), "equivalent": (376, 324)}


def test_vendored_histories__all_six_projects_with_licences():
    total = sum(len(pairs(folder)[1]) for folder in FOLDERS)

    assert total == 386
    assert all((ROOT / "LICENSES" / f"{folder}.txt").is_file() for folder in FOLDERS)


@pytest.mark.parametrize("mode", ["default", "equivalent"])
def test_replay_real_releases__matches_at_least_the_floor(mode, tmp_path_factory):
    results = replay(mode, tmp_path_factory.mktemp(mode))
    versions = sum(r.got == r.expected for r in results)
    compared = [r for r in results if r.sections_match is not None]
    sections = sum(bool(r.sections_match) for r in compared)
    print(f"\n{mode}: next version = released version {versions}/{len(results)}; "
          f"changelog sections agree {sections}/{len(compared)}")
    for folder in FOLDERS:
        mine = [r for r in results if r.folder == folder]
        print(f"  {folder}: versions {sum(r.got == r.expected for r in mine)}/{len(mine)}")

    floor_versions, floor_sections = FLOORS[mode]
    assert versions >= floor_versions, [(r.folder, r.version, r.got) for r in results if r.got != r.expected]
    assert sections >= floor_sections
