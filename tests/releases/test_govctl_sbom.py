"""`govctl sbom`: CycloneDX from a real virtual environment or pinned requirements; `sbom validate` on other
tools' SBOMs (cyclonedx-py run for real, syft's own test document). No portal involved."""

import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from govctl.cli import main
from govctl.supplychain.sbom import normalise

DATA = Path(__file__).resolve().parents[1] / "data" / "sbom"


def _wheel(folder: Path, name: str, version: str, licence: str) -> Path:
    """A minimal real wheel (METADATA, WHEEL, RECORD and one module)."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"VALUE = 1\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.4\nName: {name.replace('_', '-')}\nVersion: {version}\n"
                            f"License-Expression: {licence}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
        f"{len(data)}\n" for path, data in files.items()) + f"{dist}/RECORD,,\n"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
        archive.writestr(f"{dist}/RECORD", record)
    return path


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A real virtual environment holding two packages installed from local wheels (no index, no network)."""
    root = tmp_path_factory.mktemp("sbom")
    env = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    wheels = [_wheel(root, "demo_pkg", "1.2.3", "MIT"), _wheel(root, "Other.Lib", "0.9", "Apache-2.0 OR MIT")]
    subprocess.run([sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "install", "--no-index",
                    "--no-deps", "--quiet", *map(str, wheels)], check=True)
    return env, wheels


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _strictly_valid(text: str, version: SchemaVersion = SchemaVersion.V1_6) -> None:
    assert JsonStrictValidator(version).validate_str(text) is None


def test_environment__lists_the_venvs_own_packages_with_purls_licences_and_hashes(venv, capsys, tmp_path):
    env, wheels = venv
    out_file = tmp_path / "sbom.json"
    code, _, err = _run(capsys, "sbom", "--venv", str(env), "--name", "shop", "--project-version", "2.0.0",
                        "--output", str(out_file))
    assert code == 0 and "2 components" in err
    text = out_file.read_text()
    _strictly_valid(text)
    bom = json.loads(text)
    assert bom["specVersion"] == "1.6" and bom["metadata"]["component"]["name"] == "shop"
    by_purl = {c["purl"]: c for c in bom["components"]}
    assert sorted(by_purl) == ["pkg:pypi/demo-pkg@1.2.3", "pkg:pypi/other-lib@0.9"]  # nothing from govctl's venv
    demo = by_purl["pkg:pypi/demo-pkg@1.2.3"]
    assert demo["licenses"] == [{"license": {"id": "MIT"}}]
    assert by_purl["pkg:pypi/other-lib@0.9"]["licenses"] == [{"expression": "Apache-2.0 OR MIT"}]
    # the wheel's own sha256, as pip recorded it in direct_url.json
    assert demo["hashes"] == [{"alg": "SHA-256", "content": hashlib.sha256(wheels[0].read_bytes()).hexdigest()}]
    record = next(env.glob("lib/python*/site-packages/demo_pkg-1.2.3.dist-info/RECORD")).read_bytes()
    assert {"name": "govctl:record-sha256", "value": hashlib.sha256(record).hexdigest()} in demo["properties"]


def test_cyclonedx_py_sbom_of_the_same_venv__validates_and_agrees_on_the_components(venv, capsys, tmp_path):
    env, _ = venv
    theirs = tmp_path / "cyclonedx-py.json"
    subprocess.run([str(Path(sys.executable).parent / "cyclonedx-py"), "environment", "--sv", "1.6", "--of", "JSON",
                    "-o", str(theirs), str(env / "bin" / "python")], check=True, capture_output=True,
                   # the venv's interpreter must not see this checkout's PYTHONPATH (it would list govctl too)
                   env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    code, out, _ = _run(capsys, "sbom", "validate", str(theirs))
    assert (code, out) == (0, f"{theirs}: valid CycloneDX 1.6 SBOM, 2 components\n")
    _run(capsys, "sbom", "--venv", str(env), "--output", str(tmp_path / "ours.json"))
    ours = {(normalise(c["name"]), c["version"], c["hashes"][0]["content"])
            for c in json.loads((tmp_path / "ours.json").read_text())["components"]}
    # cyclonedx-py gives no purl to a package installed from a local file; it puts the archive hash on the
    # distribution reference
    assert ours == {(normalise(c["name"]), c["version"], c["externalReferences"][0]["hashes"][0]["content"])
                    for c in json.loads(theirs.read_text())["components"]}


def test_syft_sbom__validates(capsys):
    code, out, _ = _run(capsys, "sbom", "validate", str(DATA / "syft-1.6.cdx.json"))
    assert code == 0 and out.endswith("valid CycloneDX 1.6 SBOM, 1 component\n")


@pytest.mark.parametrize(("document", "problem"), [
    ('{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [{"type": "library"}]}',
     "components/0: 'name' is a required property"),
    ('{"bomFormat": "SPDX"}', 'not a CycloneDX document'),
    ('{"bomFormat": "CycloneDX", "specVersion": "9.9"}', "unknown CycloneDX specVersion '9.9'"),
    ("{not json", "not JSON"),
])
def test_invalid_sboms__exit_1_naming_the_problem(capsys, tmp_path, document, problem):
    path = tmp_path / "bad.json"
    path.write_text(document)
    code, out, err = _run(capsys, "sbom", "validate", str(path))
    assert code == 1 and out == "" and problem in err


def test_validate_missing_file__is_a_usage_error(capsys, tmp_path):
    assert _run(capsys, "sbom", "validate", str(tmp_path / "none.json"))[0] == 2


@pytest.fixture
def requirements(tmp_path):
    sha_a, sha_b, sha_c = "a" * 64, "b" * 64, "c" * 64
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "tools.txt").write_text(
        "# test tools\npytest==9.2.0 \\\n    --hash=sha256:" + sha_c + "\n-r ../requirements.txt\n")
    (tmp_path / "requirements.txt").write_text(
        "# runtime\n"
        "Django==5.2.19 \\\n    --hash=sha256:" + sha_a + " \\\n    --hash=sha256:" + sha_b + "\n"
        "psycopg[binary,pool]==3.3.9 ; python_version >= '3.11'  # extras and markers\n"
        "httpx>=0.27\n"
        "requests\n"
        "-e ./client\n"
        "--index-url https://pypi.example.com/simple\n"
        "-c constraints.txt\n"
        "git+https://github.com/acme/lib.git#egg=lib\n")
    return tmp_path


def test_requirements__pins_become_components_with_hashes_and_unpinned_lines_are_reported(requirements, capsys):
    code, out, err = _run(capsys, "sbom", "-r", str(requirements / "ci" / "tools.txt"), "--spec-version", "1.5")
    assert code == 0
    _strictly_valid(out, SchemaVersion.V1_5)
    components = {c["purl"]: c for c in json.loads(out)["components"]}
    assert sorted(components) == ["pkg:pypi/django@5.2.19", "pkg:pypi/psycopg@3.3.9", "pkg:pypi/pytest@9.2.0"]
    assert components["pkg:pypi/django@5.2.19"]["hashes"] == [{"alg": "SHA-256", "content": "a" * 64},
                                                             {"alg": "SHA-256", "content": "b" * 64}]
    assert "hashes" not in components["pkg:pypi/psycopg@3.3.9"]
    for line, text in [(6, "httpx>=0.27"), (7, "requests"), (8, "-e ./client"),
                       (11, "git+https://github.com/acme/lib.git#egg=lib")]:
        assert f"{requirements}/requirements.txt:{line}: {text!r} left out" in err
    assert "pypi.example.com" not in err and "constraints" not in err  # options, not packages
    assert "3 components, 4 unpinned requirements left out" in err
    assert _run(capsys, "sbom", "-r", str(requirements / "requirements.txt"), "--strict")[0] == 1


def test_requirements__conflicting_pins_and_include_cycles_are_errors(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("Django==5.2.19\n-r b.txt\n")
    (tmp_path / "b.txt").write_text("django==5.2.18\n")
    code, _, err = _run(capsys, "sbom", "-r", str(tmp_path / "a.txt"))
    assert code == 1 and "django is pinned to 5.2.18 here and to 5.2.19 in" in err
    (tmp_path / "b.txt").write_text("-r a.txt\n")
    code, _, err = _run(capsys, "sbom", "-r", str(tmp_path / "a.txt"))
    assert code == 2 and "include themselves" in err


def test_the_projects_own_requirements__make_a_valid_sbom(capsys):
    root = Path(__file__).resolve().parents[2]
    code, out, _ = _run(capsys, "sbom", "-r", str(root / "requirements-dev.txt"))
    assert code == 0
    _strictly_valid(out)
    purls = {c["purl"] for c in json.loads(out)["components"]}
    assert "pkg:pypi/django@5.2.19" in purls and "pkg:pypi/cyclonedx-python-lib@11.12.0" in purls


def test_version_and_command_modules__do_not_import_the_sbom_or_secret_libraries():
    probe = ("import sys; from govctl.cli import main, build_parser; main(['--version']); build_parser(['sbom']); "
             "build_parser(['secrets']); "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'cyclonedx', 'detect_secrets', 'httpx'}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "client"), "PATH": "/usr/bin"})
    assert done.stdout.strip().endswith("[]")
