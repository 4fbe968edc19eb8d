"""``panther-gitops new KIND NAME …``: scaffold a detection with a test that alerts and one that does not.

KIND is ``rule``, ``policy``, ``scheduled-rule``, ``correlation-rule`` or ``simple`` (a YAML-only
simple detection). The ID is derived from NAME (:func:`pytest_panther.scaffold.naming.derive_names`);
files go to the kind's folder under the repository root (the nearest folder up from the current
one holding ``pyproject.toml`` or ``.git``, else the current folder) unless ``--dir`` (relative to
that root, never outside it) names another; a folder outside the default spec folders gets a note.
Nothing is overwritten, and an ID used by another spec is refused.

Exit codes: 0 written, 1 a file or the ID exists already, 2 usage (bad NAME, log type, missing
option, a ``--dir`` outside the root).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pytest_panther.config import SettingsError
from pytest_panther.config import read_settings
from pytest_panther.scaffold.detections import DEFAULT_FOLDERS
from pytest_panther.scaffold.detections import KINDS
from pytest_panther.scaffold.detections import NewDetection
from pytest_panther.scaffold.detections import ScaffoldError
from pytest_panther.scaffold.detections import render
from pytest_panther.scaffold.detections import write
from pytest_panther.scaffold.naming import InvalidName
from pytest_panther.scaffold.naming import derive_names
from pytest_panther.scaffold.naming import validate_log_type
from pytest_panther.scaffold.naming import validate_resource_type
from pytest_panther.spec.repository import DEFAULT_PATHS
from pytest_panther.spec.repository import load_repository

__all__ = ["register", "run"]

SEVERITIES: tuple[str, ...] = ("Info", "Low", "Medium", "High", "Critical")


def _severity(value: str) -> str:
    for severity in SEVERITIES:
        if value.lower() == severity.lower():
            return severity
    raise argparse.ArgumentTypeError(f"invalid severity {value!r} (choose from {', '.join(SEVERITIES)})")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "new",
        help="scaffold a detection with passing tests",
        description=(
            "Write a new detection: its YAML spec (with one test that alerts and one that does not) "
            "and its Python where the kind has one. NAME becomes the ID: MyRule -> Custom.MyRule; "
            "a NAME with a dot is used as given."
        ),
        epilog=(
            "examples:\n"
            "  panther-gitops new rule NewAdminUser --log-type AWS.CloudTrail --severity High\n"
            "  panther-gitops new policy BucketOwnerTag --resource-type AWS.S3.Bucket\n"
            "  panther-gitops new simple Okta.PolicyChange --log-type Okta.SystemLog\n"
            "  panther-gitops new scheduled-rule ManyConsoleCalls --log-type AWS.CloudTrail\n"
            "  panther-gitops new correlation-rule KeyThenLogin --member Custom.NewKey --member Custom.Login"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", choices=KINDS, metavar="KIND", help=f"one of: {', '.join(KINDS)}")
    parser.add_argument("name", metavar="NAME", help="detection name or ID (MyRule, my_rule, AWS.IAM.MyRule)")
    parser.add_argument("--log-type", action="append", default=[], metavar="LOG_TYPE",
                        help="log type the rule reads (repeat for several); rule, simple, scheduled-rule")
    parser.add_argument("--resource-type", action="append", default=[], metavar="TYPE",
                        help="resource type the policy checks (repeat for several); policy only")
    parser.add_argument("--member", action="append", default=[], metavar="RULE_ID",
                        help="a rule whose alerts the correlation rule joins, in order (at least two)")
    parser.add_argument("--severity", type=_severity, default="Medium",
                        help="Info, Low, Medium (default), High, Critical")
    parser.add_argument("--dir", metavar="DIR",
                        help="folder for the spec and code, relative to the repository root (default: by kind, e.g. rules/)")
    parser.set_defaults(func=run)


def _usage(message: str) -> int:
    print(f"panther-gitops new: error: {message}", file=sys.stderr)
    return 2


def _declared_log_types() -> frozenset[str]:
    """The repository's ``panther_log_types`` setting (empty when unreadable: validation says why)."""
    try:
        return read_settings(repository_root(Path.cwd())).log_types
    except SettingsError:
        return frozenset()


def run(args: argparse.Namespace) -> int:
    kind = args.kind
    try:
        names = derive_names(args.name)
        log_types = [validate_log_type(v, _declared_log_types()) for v in args.log_type]
        resource_types = [validate_resource_type(v) for v in args.resource_type]
    except InvalidName as exc:
        return _usage(str(exc))
    if kind == "policy" and log_types:
        return _usage("a policy checks resources: use --resource-type, not --log-type")
    if kind != "policy" and resource_types:
        return _usage(f"--resource-type is for policies; a {kind} reads logs (--log-type)")
    if kind == "correlation-rule" and log_types:
        return _usage("a correlation rule has no log types: name the rules it joins with --member")
    if kind != "correlation-rule" and args.member:
        return _usage("--member is for correlation rules")
    root = repository_root(Path.cwd())
    request = NewDetection(kind=kind, names=names, severity=args.severity, log_types=log_types,
                           resource_types=resource_types, members=list(args.member))
    folder = args.dir or DEFAULT_FOLDERS[kind]
    if not _inside(root, folder):
        return _usage(f"--dir {folder} is outside the repository root {root}: "
                      "give a folder relative to it, for example rules/aws")
    try:
        files = render(request, folder)
    except ScaffoldError as exc:
        return _usage(str(exc))
    repository = load_repository(root)
    existing = {spec.id: spec.path for spec in repository.specs if spec.id}
    try:
        written = write(root, files, existing, names.id)
    except ScaffoldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"New {kind} {names.id}:")
    for path in written:
        print(f"  created  {_relative(path, root)}")
    for member in request.members:
        if member not in existing:
            print(f"  note: {member} is not a rule of this repository; fine if Panther has it already "
                  "(for example a Panther-managed rule), otherwise its alerts never come")
    top = Path(folder).parts[:1]
    if not top or top[0] not in DEFAULT_PATHS:
        print(f"  note: {folder} is not under a default spec folder ({', '.join(DEFAULT_PATHS)}): pytest and "
              "sync see it only if the panther_paths ini key lists it")
    print(f"Next: edit the TODOs, then run its tests: pytest -k {names.id}")
    return 0


def _inside(root: Path, folder: str) -> bool:
    """Whether ``folder`` (relative to ``root``) stays inside ``root``."""
    if Path(folder).is_absolute():
        return False
    return (root / folder).resolve().is_relative_to(root.resolve())


def repository_root(start: Path) -> Path:
    """The nearest folder from ``start`` upwards holding ``pyproject.toml`` or ``.git``; else ``start``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / ".git").exists():
            return folder
    return start


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
