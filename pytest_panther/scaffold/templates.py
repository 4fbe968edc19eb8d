"""The Python bodies of scaffolded detections and the fields their example events use.

Specs are built as data in :mod:`.detections` and written with :func:`pytest_panther.spec.yaml.dump`;
only Python (and the SQL of a scheduled query) is text here, filled in with :class:`string.Template`
(``$name``) so that Python's own braces need no escaping.
"""
from __future__ import annotations

from string import Template

__all__ = [
    "EVENT_FIELDS",
    "POLICY_PY",
    "QUERY_YML",
    "RULE_PY",
    "SCHEDULED_RULE_PY",
    "event_fields",
    "example_actor",
]

#: Log type → (path of the field that says what happened, path of the field naming the actor).
#: Field names from Panther's log schemas (https://docs.panther.com/data-onboarding/supported-logs).
EVENT_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "AWS.CloudTrail": (("eventName",), ("userIdentity", "arn")),
    "Okta.SystemLog": (("eventType",), ("actor", "alternateId")),
    "GitHub.Audit": (("action",), ("actor",)),
    "GCP.AuditLog": (("protoPayload", "methodName"), ("protoPayload", "authenticationInfo", "principalEmail")),
    "Slack.AuditLogs": (("action",), ("actor", "user", "email")),
    "Zoom.Activity": (("type",), ("email",)),
}
_DEFAULT_FIELDS: tuple[tuple[str, ...], tuple[str, ...]] = (("action",), ("actor",))


def event_fields(log_type: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(action path, actor path)`` for ``log_type``; ``action``/``actor`` for unknown types."""
    return EVENT_FIELDS.get(log_type, _DEFAULT_FIELDS)


def example_actor(log_type: str, person: str) -> str:
    """An actor value of the right form for ``log_type``: an IAM ARN for AWS, else an email."""
    _, actor_path = event_fields(log_type)
    if actor_path[-1] == "arn":
        return f"arn:aws:iam::123456789012:user/{person}"
    return f"{person}@example.com"


RULE_PY = Template('''\
"""$display ($id).

Scaffolded by `panther-gitops new $kind`: replace ACTIONS with the values of the event's
`$action_label` field this rule should alert on, and the test cases in $yml_name with real events.
"""

#: Values of `$action_label` that make this rule alert.
ACTIONS = {"ExampleAction"}


def rule(event) -> bool:
    return _action(event) in ACTIONS


def title(event) -> str:
    return f"$display: {_action(event)} by {_actor(event)}"


def dedup(event) -> str:
    return _actor(event)


def alert_context(event) -> dict:
    return {"actor": _actor(event), "action": _action(event)}


def _action(event) -> str:
    return event.deep_get($action_args, default="<unknown action>")


def _actor(event) -> str:
    return event.deep_get($actor_args, default="<unknown actor>")
''')

SCHEDULED_RULE_PY = Template('''\
"""$display ($id).

Scaffolded by `panther-gitops new scheduled-rule`. Panther runs the scheduled query
"$query" and calls rule() once per row it returns; each test case's `Log` is one such row.
Adapt the query in $query_file, THRESHOLD and the test cases in $yml_name.
"""

#: Alert when one actor made more calls than this within the query's window.
THRESHOLD = 100


def rule(event) -> bool:
    return event.get("event_count", 0) > THRESHOLD


def title(event) -> str:
    count = event.get("event_count")
    return f"$display: {_actor(event)} made {count} calls in one hour"


def dedup(event) -> str:
    return _actor(event)


def alert_context(event) -> dict:
    return {"actor": _actor(event), "event_count": event.get("event_count")}


def _actor(event) -> str:
    return str(event.get("actor") or "<unknown actor>")
''')

POLICY_PY = Template('''\
"""$display ($id).

Scaffolded by `panther-gitops new policy`. A policy returns True when the resource is
compliant (False raises an alert). This one requires an `owner` tag: replace the check and the
test cases in $yml_name.
"""

#: The tag every resource must carry.
REQUIRED_TAG = "owner"


def _tags(resource) -> dict:
    tags = resource.get("Tags")
    return tags if isinstance(tags, dict) else {}


def policy(resource) -> bool:
    return bool(_tags(resource).get(REQUIRED_TAG))


def title(resource) -> str:
    resource_id = resource.get("ResourceId", "<unknown resource>")
    return f"$display: {resource_id} has no {REQUIRED_TAG} tag"


def alert_context(resource) -> dict:
    return {"resource": resource.get("ResourceId"), "tags": sorted(_tags(resource))}
''')

QUERY_YML = Template('''\
# The scheduled query behind $id (rules/$stem.yml). Panther runs it every
# RateMinutes and passes each row it returns to the rule.
AnalysisType: scheduled_query
QueryName: $query
Enabled: true
Description: Calls per actor in the last hour, for $id.
Query: |
  SELECT $actor_sql AS actor, COUNT(*) AS event_count
  FROM panther_logs.public.$table
  WHERE p_occurs_since('1 hour')
  GROUP BY 1
  HAVING COUNT(*) > 100
Schedule:
  RateMinutes: 60
  TimeoutMinutes: 5
''')
