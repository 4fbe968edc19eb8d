"""A self-hosted GitHub Actions runner was registered to a repository, org or enterprise."""

from detection_helpers import github_context, github_repo

REGISTER_ACTIONS = {
    "repo.register_self_hosted_runner": "repository",
    "org.register_self_hosted_runner": "organization",
    "enterprise.register_self_hosted_runner": "enterprise",
}


def rule(event):
    return event.get("action") in REGISTER_ACTIONS


def _scope(event):
    level = REGISTER_ACTIONS.get(event.get("action"), "unknown")
    if level == "repository":
        return level, github_repo(event)
    if level == "enterprise":
        return level, event.get("business", "<unknown enterprise>")
    return level, event.get("org", "<unknown org>")


def title(event):
    level, name = _scope(event)
    runner = event.get("runner_name", "<unnamed runner>")
    return f"Self-hosted runner [{runner}] registered to {level} [{name}] by [{event.get('actor', '<unknown>')}]"


def dedup(event):
    return f"{_scope(event)[1]}:{event.get('runner_name', '')}"


def alert_context(event):
    context = github_context(event)
    context["runner_name"] = event.get("runner_name", "")
    context["runner_id"] = event.get("runner_id", "")
    context["scope"] = _scope(event)[0]
    return context
