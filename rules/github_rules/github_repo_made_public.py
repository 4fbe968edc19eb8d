"""A repository became public, either by being created public or by a visibility change."""

from detection_helpers import github_context, github_repo

WATCHED_ACTIONS = {"repo.create", "repo.access"}


def rule(event):
    if event.get("action") not in WATCHED_ACTIONS:
        return False
    # visibility values are lower case in GitHub's log, but do not rely on it
    return str(event.get("visibility", "")).lower() == "public"


def title(event):
    verb = (
        "created as public" if event.get("action") == "repo.create" else "made public"
    )
    return f"GitHub repository [{github_repo(event)}] {verb} by [{event.get('actor', '<unknown>')}]"


def dedup(event):
    return github_repo(event)


def alert_context(event):
    context = github_context(event)
    context["previous_visibility"] = event.get("previous_visibility", "")
    return context
