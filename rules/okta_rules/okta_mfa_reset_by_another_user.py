"""Someone removed another person's MFA factors (a step in many account takeovers).

Uses the ``PytestPanther.Okta.SystemLog`` data model: ``actor_user`` (JSONPath)
and ``target_user`` (method) through ``event.udm``.
"""

from detection_helpers import okta_context

RESET_EVENTS = {"user.mfa.factor.reset_all", "user.mfa.factor.deactivate"}


def _actor(event):
    return str(event.udm("actor_user", default=""))


def _target(event):
    return str(event.udm("target_user", default=""))


def rule(event):
    if event.get("eventType") not in RESET_EVENTS or event.udm("outcome") != "SUCCESS":
        return False
    actor, target = _actor(event), _target(event)
    # "system" resets (no person behind them) carry no User target
    return bool(actor and target) and actor.lower() != target.lower()


def title(event):
    return f"[{_actor(event)}] reset the MFA factors of [{_target(event)}]"


def dedup(event):
    return _target(event).lower()


def alert_context(event):
    context = okta_context(event)
    context["target_user"] = _target(event)
    context["factor"] = event.deep_get(
        "debugContext", "debugData", "factor", default="all factors"
    )
    return context
