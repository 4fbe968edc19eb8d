"""Scaffold one new detection: its spec (with a test that alerts and one that does not) and code.

Kinds and the files each gets (spec formats: shared/reference/semantics.md §3–§4,
local-evaluation.md §2 and §7):

=================  =====================================================================
``rule``           ``rules/<stem>.yml`` + ``.py`` (rule, title, dedup, alert_context)
``scheduled-rule`` ``rules/<stem>.yml`` + ``.py`` and ``queries/<stem>_query.yml``
``policy``         ``policies/<stem>.yml`` + ``.py`` (policy, title, alert_context)
``simple``         ``rules/<stem>.yml`` (``Detection`` match expressions, AlertTitle,
                   AlertContext, GroupBy)
``correlation-rule`` ``correlation_rules/<stem>.yml`` (a ``Sequence`` of the ``--member`` rules
                   joined on their alert context's ``actor``; ``RuleOutputs`` tests)
=================  =====================================================================
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from pytest_panther.scaffold import templates
from pytest_panther.scaffold.naming import Names
from pytest_panther.spec.yaml import dump
from pytest_panther.spec.yaml import load

__all__ = ["DEFAULT_FOLDERS", "KINDS", "NewDetection", "ScaffoldError", "render", "write"]

KINDS: tuple[str, ...] = ("rule", "policy", "scheduled-rule", "correlation-rule", "simple")

#: Folder (relative to the repository root) each kind goes to unless ``--dir`` says otherwise.
DEFAULT_FOLDERS: dict[str, str] = {
    "rule": "rules",
    "scheduled-rule": "rules",
    "simple": "rules",
    "policy": "policies",
    "correlation-rule": "correlation_rules",
}

_ACTORS = ("alice@example.com", "bob@example.com")
_PEOPLE = ("alice", "bob")


class ScaffoldError(Exception):
    """The detection cannot be written (a file or the ID exists already …); ``str()`` says why."""


@dataclass(frozen=True)
class NewDetection:
    """What to scaffold. ``log_types`` for rules, ``resource_types`` for policies, ``members``
    (two or more RuleIDs) for correlation rules."""

    kind: str
    names: Names
    severity: str = "Medium"
    log_types: list[str] = field(default_factory=list)
    resource_types: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)


def _nested(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    result: dict[str, Any] = {path[-1]: value}  # event_fields' paths are never empty
    for key in reversed(path[:-1]):
        result = {key: result}
    return result


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    merged = dict(a)
    for key, value in b.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _event(log_type: str, action: str, actor: str) -> dict[str, Any]:
    action_path, actor_path = templates.event_fields(log_type)
    event = _merge(_nested(action_path, action), _nested(actor_path, actor))
    return {"p_log_type": log_type, **event}


def _header(request: NewDetection) -> dict[str, Any]:
    names = request.names
    return {
        "AnalysisType": "policy" if request.kind == "policy" else "rule",
        ("PolicyID" if request.kind == "policy" else "RuleID"): names.id,
        "DisplayName": names.display,
        "Enabled": True,
    }


def _alerting_fields(request: NewDetection) -> dict[str, Any]:
    """Severity, dedup, threshold and the TODO prose shared by rules, simple and scheduled rules
    (in this order: it is the order of the written YAML)."""
    return {
        "Severity": request.severity,
        "DedupPeriodMinutes": 60,
        "Threshold": 1,
        "Description": f"TODO: what {request.names.display} detects and why it matters.",
        "Runbook": "TODO: the first steps of whoever receives this alert.",
        "Tags": ["TODO"],
    }


def _rule_spec(request: NewDetection, stem: str) -> dict[str, Any]:
    log_type = request.log_types[0]
    spec = _header(request)
    if request.kind != "simple":
        spec["Filename"] = f"{stem}.py"
    spec["LogTypes"] = list(request.log_types)
    spec.update(_alerting_fields(request))
    if request.kind == "simple":
        action_path, actor_path = templates.event_fields(log_type)
        spec["Detection"] = [
            {**_key(action_path), "Condition": "Equals", "Value": "ExampleAction"},
            {**_key(actor_path), "Condition": "IsNotNullOrEmpty"},
        ]
        spec["AlertTitle"] = f"{request.names.display}: {{{'.'.join(action_path)}}} by {{{'.'.join(actor_path)}}}"
        spec["AlertContext"] = [
            {"KeyName": "actor", "KeyValue": _key(actor_path)},
            {"KeyName": "action", "KeyValue": _key(action_path)},
        ]
        spec["GroupBy"] = [_key(actor_path)]
    spec["Tests"] = [
        {"Name": "ExampleAction alerts", "ExpectedResult": True,
         "Log": _event(log_type, "ExampleAction", templates.example_actor(log_type, _PEOPLE[0]))},
        {"Name": "Another action does not alert", "ExpectedResult": False,
         "Log": _event(log_type, "OtherAction", templates.example_actor(log_type, _PEOPLE[1]))},
    ]
    return spec


def _key(path: tuple[str, ...]) -> dict[str, str]:
    return {"Key": path[0]} if len(path) == 1 else {"KeyPath": ".".join(path)}


def _scheduled_spec(request: NewDetection, stem: str, query: str) -> dict[str, Any]:
    spec = _header(request)
    spec.update(AnalysisType="scheduled_rule", Filename=f"{stem}.py", ScheduledQueries=[query])
    spec.update(_alerting_fields(request))
    spec["Tests"] = [
        {"Name": "Many calls by one actor alert", "ExpectedResult": True,
         "Log": {"actor": _ACTORS[0], "event_count": 250}},
        {"Name": "A few calls do not alert", "ExpectedResult": False,
         "Log": {"actor": _ACTORS[1], "event_count": 3}},
    ]
    return spec


def _policy_spec(request: NewDetection, stem: str) -> dict[str, Any]:
    spec = _header(request)
    spec["Filename"] = f"{stem}.py"
    spec["ResourceTypes"] = list(request.resource_types)
    spec["Severity"] = request.severity
    spec["Description"] = f"TODO: what {request.names.display} checks and why it matters."
    spec["Runbook"] = "TODO: how to make a failing resource compliant."
    spec["Tags"] = ["TODO"]
    rtype = request.resource_types[0]
    spec["Tests"] = [
        {"Name": "Resource with an owner tag is compliant", "ExpectedResult": True,
         "Resource": {"ResourceId": "example-compliant", "ResourceType": rtype, "Tags": {"owner": "detection-team"}}},
        {"Name": "Resource without an owner tag is not compliant", "ExpectedResult": False,
         "Resource": {"ResourceId": "example-untagged", "ResourceType": rtype, "Tags": {}}},
    ]
    return spec


def _correlation_spec(request: NewDetection) -> dict[str, Any]:
    member_ids = [f"Step{index}" for index in range(1, len(request.members) + 1)]
    join = "p_alert_context.actor"
    sequence = [{"ID": mid, "RuleID": rid} for mid, rid in zip(member_ids, request.members)]
    transitions = [
        {"ID": f"{a} then {b}", "From": a, "To": b, "WithinTimeFrameMinutes": 60, "Match": [{"On": join}]}
        for a, b in zip(member_ids, member_ids[1:])
    ]
    spec: dict[str, Any] = {
        "AnalysisType": "correlation_rule",
        "RuleID": request.names.id,
        "DisplayName": request.names.display,
        "Enabled": True,
        "Severity": request.severity,
        "Description": "TODO: the chain of alerts this correlation rule detects and why it matters.",
        "Runbook": "TODO: the first steps of whoever receives this alert.",
        "Tags": ["TODO"],
        "Detection": [{
            "Sequence": sequence,
            "Transitions": transitions,
            "LookbackWindowMinutes": 120,
            "Schedule": {"RateMinutes": 60, "TimeoutMinutes": 5},
        }],
    }

    def outputs(actors: list[str]) -> list[dict[str, Any]]:
        return [
            {"ID": mid, "Matches": {join: {actor: [10 * index]}}}
            for index, (mid, actor) in enumerate(zip(member_ids, actors))
        ]

    same = [_ACTORS[0]] * len(member_ids)
    mixed = [_ACTORS[index % 2] for index in range(len(member_ids))]
    spec["Tests"] = [
        {"Name": "Every step by one actor, in order", "ExpectedResult": True, "RuleOutputs": outputs(same)},
        {"Name": "Only the first step", "ExpectedResult": False, "RuleOutputs": outputs(same)[:1]},
        {"Name": "Steps by different actors", "ExpectedResult": False, "RuleOutputs": outputs(mixed)},
    ]
    return spec


def _py_args(path: tuple[str, ...]) -> str:
    return ", ".join(f'"{part}"' for part in path)


def render(request: NewDetection, folder: str, query_folder: str = "queries") -> dict[str, str]:
    """The files of ``request``: ``{relative POSIX path: text}``.

    :raises ScaffoldError: when the request lacks what its kind needs (a log type, a resource
        type, two members).
    """
    names, kind = request.names, request.kind
    stem = names.stem
    yml = f"{folder}/{stem}.yml"
    files: dict[str, str] = {}
    header = f"# {names.id}: scaffolded by `panther-gitops new {kind}`. Replace the TODOs and tests.\n"
    if kind in ("rule", "simple"):
        if not request.log_types:
            raise ScaffoldError(f"a {kind} needs at least one --log-type (for example AWS.CloudTrail)")
        files[yml] = header + dump(_rule_spec(request, stem))
        if kind == "rule":
            action_path, actor_path = templates.event_fields(request.log_types[0])
            files[f"{folder}/{stem}.py"] = templates.RULE_PY.substitute(
                display=names.display, id=names.id, kind=kind, yml_name=f"{stem}.yml",
                action_label=".".join(action_path), action_args=_py_args(action_path),
                actor_args=_py_args(actor_path),
            )
    elif kind == "scheduled-rule":
        if not request.log_types:
            raise ScaffoldError("a scheduled-rule needs a --log-type: its query reads that log type's table")
        query = f"{names.id} Query"
        log_type = request.log_types[0]
        _, actor_path = templates.event_fields(log_type)
        # Snowflake reads nested JSON fields as column:path::type.
        actor_sql = actor_path[0] if len(actor_path) == 1 else f"{actor_path[0]}:{':'.join(actor_path[1:])}::varchar"
        files[yml] = header + dump(_scheduled_spec(request, stem, query))
        files[f"{folder}/{stem}.py"] = templates.SCHEDULED_RULE_PY.substitute(
            display=names.display, id=names.id, query=query, yml_name=f"{stem}.yml",
            query_file=f"{query_folder}/{stem}_query.yml",
        )
        files[f"{query_folder}/{stem}_query.yml"] = templates.QUERY_YML.substitute(
            id=names.id, stem=stem, query=query, actor_sql=actor_sql,
            table=log_type.lower().replace(".", "_"),
        )
    elif kind == "policy":
        if not request.resource_types:
            raise ScaffoldError("a policy needs at least one --resource-type (for example AWS.S3.Bucket)")
        files[yml] = header + dump(_policy_spec(request, stem))
        files[f"{folder}/{stem}.py"] = templates.POLICY_PY.substitute(
            display=names.display, id=names.id, yml_name=f"{stem}.yml",
        )
    elif kind == "correlation-rule":
        if len(request.members) < 2:
            raise ScaffoldError(
                "a correlation-rule joins the alerts of two or more rules: name them in order with "
                "--member RULE_ID --member RULE_ID"
            )
        files[yml] = header + dump(_correlation_spec(request))
    else:  # pragma: no cover - argparse restricts the choices
        raise ScaffoldError(f"unknown detection kind {kind!r}: choose one of {', '.join(KINDS)}")
    for rel, text in files.items():
        if rel.endswith(".yml"):
            load(text, rel)  # the generated YAML must parse; a YamlError here is a bug of ours
    return files


def write(root: Path, files: dict[str, str], existing_ids: dict[str, Path], detection_id: str) -> list[Path]:
    """Write ``files`` under ``root``; nothing is written unless every path is free.

    :raises ScaffoldError: when a target path exists (naming each) or ``detection_id`` is already
        used by a spec (``existing_ids`` maps IDs to their spec files).
    """
    if detection_id in existing_ids:
        used_by = _shown(existing_ids[detection_id], root)
        raise ScaffoldError(f"the ID {detection_id} is already used by {used_by}; choose another NAME")
    targets = [root / rel for rel in files]
    taken = [t for t in targets if t.exists() or t.is_symlink()]
    if taken:
        listed = ", ".join(_shown(t, root) for t in taken)
        raise ScaffoldError(f"refusing to overwrite {listed} (choose another NAME or remove the file)")
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return targets


def _shown(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when it is inside it, else as given."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
