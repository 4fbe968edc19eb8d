"""An Okta policy or policy rule was deactivated or deleted."""

from detection_helpers import dig, okta_context, okta_targets

EVENT_VERBS = {
    "policy.lifecycle.deactivate": "deactivated",
    "policy.lifecycle.delete": "deleted",
    "policy.rule.deactivate": "deactivated",
    "policy.rule.delete": "deleted",
}


def _policy_names(event):
    names = [
        str(t.get("displayName") or t.get("id"))
        for t in okta_targets(event)
        if t.get("type") in ("PolicyEntity", "PolicyRule")
    ]
    return names or ["<unknown policy>"]


def rule(event):
    return (
        event.get("eventType") in EVENT_VERBS
        and event.deep_get("outcome", "result") == "SUCCESS"
    )


def title(event):
    verb = EVENT_VERBS.get(event.get("eventType"), "changed")
    actor = event.deep_get("actor", "alternateId", default="<unknown>")
    return f"Okta policy [{' / '.join(_policy_names(event))}] {verb} by [{actor}]"


def severity(event):
    return "HIGH" if str(event.get("eventType")).endswith(".delete") else "MEDIUM"


def dedup(event):
    return " / ".join(_policy_names(event))


def alert_context(event):
    context = okta_context(event)
    context["policies"] = _policy_names(event)
    policies = okta_targets(event, "PolicyEntity")
    context["policy_type"] = (
        dig(policies[0], "detailEntry", "policyType", default="") if policies else ""
    )
    return context
