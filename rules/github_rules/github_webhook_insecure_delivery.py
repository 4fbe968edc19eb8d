"""A webhook was created or changed to deliver over plain HTTP or without TLS verification."""

from detection_helpers import dig, github_context, github_repo

WATCHED_ACTIONS = {"hook.create", "hook.config_changed"}


def _config(event):
    return event.get("config") or {}


def _problems(event):
    config = _config(event)
    problems = []
    if str(config.get("url", "")).lower().startswith("http://"):
        problems.append("plain HTTP")
    # GitHub sends insecure_ssl as the string "0"/"1"; accept a number as well
    if str(config.get("insecure_ssl", "0")) == "1":
        problems.append("TLS verification off")
    return problems


def rule(event):
    return event.get("action") in WATCHED_ACTIONS and bool(_problems(event))


def _owner(event):
    return github_repo(event) or event.get("org", "<unknown>")


def title(event):
    return f"GitHub webhook on [{_owner(event)}] delivers with {' and '.join(_problems(event))}"


def dedup(event):
    return f"{_owner(event)}:{event.get('hook_id', '')}"


def alert_context(event):
    context = github_context(event)
    context["hook_id"] = event.get("hook_id", "")
    context["url"] = dig(_config(event), "url", default="")
    context["problems"] = _problems(event)
    return context
