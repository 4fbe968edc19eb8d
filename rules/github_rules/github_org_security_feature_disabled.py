"""An organization-wide security control was switched off in GitHub."""

from detection_helpers import github_context

# action -> (what was switched off, severity)
DISABLED_CONTROLS = {
    "org.disable_two_factor_requirement": (
        "two-factor authentication requirement",
        "CRITICAL",
    ),
    "org.saml_disabled": ("SAML single sign-on", "CRITICAL"),
    "ip_allow_list.disable": ("IP allow list", "HIGH"),
    "org.disable_oauth_app_restrictions": ("OAuth app access restrictions", "HIGH"),
    "secret_scanning.disable": ("secret scanning", "HIGH"),
    "repository_secret_scanning_push_protection.disable": (
        "secret scanning push protection",
        "HIGH",
    ),
    "secret_scanning_new_repos.disable": (
        "secret scanning for new repositories",
        "MEDIUM",
    ),
    "dependabot_alerts.disable": ("Dependabot alerts", "MEDIUM"),
    "dependabot_alerts_new_repos.disable": (
        "Dependabot alerts for new repositories",
        "LOW",
    ),
}


def rule(event):
    return event.get("action") in DISABLED_CONTROLS


def _control(event):
    return DISABLED_CONTROLS.get(event.get("action"), ("unknown control", "HIGH"))


def title(event):
    scope = event.get("repo") or event.get("org", "<unknown org>")
    return f"GitHub {_control(event)[0]} disabled on [{scope}] by [{event.get('actor', '<unknown>')}]"


def severity(event):
    return _control(event)[1]


def dedup(event):
    return f"{event.get('org', '')}:{event.get('action', '')}"


def alert_context(event):
    context = github_context(event)
    context["control"] = _control(event)[0]
    return context
