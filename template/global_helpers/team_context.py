"""Helpers shared by this repository's detections (GlobalID ``team_context``).

A global helper is imported by its GlobalID, in tests exactly as in Panther. Keep helpers small and
free of network calls; test them through the detections that use them.
"""


def cloudtrail_actor(event) -> str:
    """The ARN of the identity that made an AWS CloudTrail call, or ``"<unknown>"``."""
    return event.deep_get("userIdentity", "arn", default="<unknown>")


def cloudtrail_context(event) -> dict:
    """Alert context every CloudTrail detection of this team shows the same way."""
    return {
        "actor": cloudtrail_actor(event),
        "event_name": event.get("eventName"),
        "source_ip": event.get("sourceIPAddress"),
        "account": event.get("recipientAccountId"),
    }
