"""`govctl sbom`: a CycloneDX JSON SBOM of a Python project (installed environment or pinned requirements), and
`govctl sbom validate FILE` for an SBOM made by any tool (cyclonedx-py, syft …).

Exit codes: 0 written / valid; 1 invalid SBOM, conflicting pins, or unpinned requirements with --strict;
2 usage (unreadable file, not a venv). Needs no portal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from govctl.errors import GovctlError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("sbom", help="write a CycloneDX SBOM of a Python project, or validate one",
                            description="Write a CycloneDX JSON SBOM of the installed environment (default: this "
                                        "interpreter) or of pinned requirements files; `sbom validate FILE` checks "
                                        "any tool's SBOM against the CycloneDX schema.")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--python", metavar="PATH", help="describe what this interpreter has installed")
    source.add_argument("--venv", metavar="DIR", help="describe this virtual environment")
    source.add_argument("-r", "--requirements", metavar="FILE", action="append",
                        help="describe pinned requirements (name==version, --hash; -r followed); repeatable")
    parser.add_argument("--output", "-o", metavar="FILE", help="write here (default: standard output)")
    parser.add_argument("--format", choices=["json"], default="json", help="CycloneDX JSON (the only format)")
    parser.add_argument("--spec-version", choices=["1.6", "1.5"], default="1.6", help="CycloneDX version")
    parser.add_argument("--name", help="the project's name (default: the current directory's name)")
    parser.add_argument("--project-version", metavar="VERSION", help="the project's version")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a requirement is not pinned")
    parser.set_defaults(func=run)
    commands = parser.add_subparsers(dest="sbom_command", metavar="COMMAND")
    validate = commands.add_parser("validate", help="validate a CycloneDX JSON SBOM made by any tool")
    validate.add_argument("file", help="the SBOM (CycloneDX JSON 1.2 to 1.7)")
    validate.set_defaults(func=run_validate)


def run(args: argparse.Namespace) -> int:
    from govctl.supplychain import sbom

    unpinned: list[sbom.Unpinned] = []
    if args.requirements:
        packages, unpinned = sbom.from_requirements(args.requirements)
        source = ", ".join(args.requirements)
    else:
        python = sbom.environment_python(args.venv) if args.venv else args.python
        packages = sbom.from_environment(python)
        source = f"the environment of {python or sys.executable}"
    for item in unpinned:
        print(f"govctl: {item.where}: {item.text!r} left out: {item.why}", file=sys.stderr)
    name = args.name or Path.cwd().name
    document = sbom.build_json(packages, name=name, version=args.project_version, spec_version=args.spec_version)
    if args.output:
        try:
            Path(args.output).write_text(document + "\n", encoding="utf-8")
        except OSError as exc:
            raise GovctlError(f"--output: cannot write {args.output}: {exc.strerror or exc}", exit_code=2) from None
    else:
        sys.stdout.write(document + "\n")
    print(f"CycloneDX {args.spec_version} SBOM of {source}: {len(packages)} components"
          + (f", {len(unpinned)} unpinned requirements left out" if unpinned else ""), file=sys.stderr)
    return 1 if (args.strict and unpinned) else 0


def run_validate(args: argparse.Namespace) -> int:
    from govctl.supplychain import sbom

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GovctlError(f"cannot read {args.file}: {getattr(exc, 'strerror', None) or exc}", exit_code=2) from None
    result = sbom.validate_json(text)
    if result.valid:
        noun = "component" if result.components == 1 else "components"
        print(f"{args.file}: valid CycloneDX {result.spec_version} SBOM, {result.components} {noun}")
        return 0
    for error in result.errors:
        print(f"{args.file}: invalid: {error}", file=sys.stderr)
    return 1
