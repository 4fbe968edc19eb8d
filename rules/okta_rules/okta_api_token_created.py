"""A new Okta API token was created (tokens act with their creator's admin rights)."""

from detection_helpers import okta_context, okta_targets


def _token_name(event):
    tokens = okta_targets(event, "Token")
    return (
        str(tokens[0].get("displayName") or tokens[0].get("id"))
        if tokens
        else "<unnamed token>"
    )


def _actor(event):
    return event.deep_get("actor", "alternateId", default="<unknown>")


def rule(event):
    return (
        event.get("eventType") == "system.api_token.create"
        and event.deep_get("outcome", "result") == "SUCCESS"
    )


def title(event):
    return f"Okta API token [{_token_name(event)}] created by [{_actor(event)}]"


def dedup(event):
    return _actor(event)


def alert_context(event):
    context = okta_context(event)
    context["token_name"] = _token_name(event)
    return context
