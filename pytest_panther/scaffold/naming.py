"""Names of scaffolded detections: the ID, the file stem and the display name, from one NAME.

``MyRule``/``my_rule``/``my-rule`` → ID ``Custom.MyRule``; a NAME with a dot is used as the ID as
given (``AWS.IAM.NewAdmin``). The file stem is the ID in snake case (``custom_my_rule``). IDs stay
within Panther's ID rule (no ``< > & " %``, semantics.md §3.1) and are stricter: letters, digits
and ``. _ -`` only, so that they are also safe file names and ``pytest -k`` words.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pytest_panther.spec.logtypes import is_known_log_type
from pytest_panther.spec.logtypes import log_type_hint

__all__ = ["DEFAULT_PREFIX", "InvalidName", "Names", "derive_names", "validate_log_type", "validate_resource_type"]

#: Prefix given to a NAME without a dot.
DEFAULT_PREFIX = "Custom"

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[._-][A-Za-z0-9]+)*$")
#: Panther log type names: ``Vendor.Source`` with optional further parts (``Custom.MyApp.Audit``).
_LOG_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9][A-Za-z0-9_-]*)+$")
_RESOURCE_TYPE = re.compile(r"^AWS(?:\.[A-Za-z0-9]+)+$")


class InvalidName(ValueError):
    """A NAME, log type or resource type that cannot be used; ``str()`` says why and how to fix it."""


@dataclass(frozen=True)
class Names:
    """``id`` (RuleID/PolicyID), ``stem`` (file name without suffix) and ``display`` (DisplayName)."""

    id: str
    stem: str
    display: str


def _camel(part: str) -> str:
    return part[:1].upper() + part[1:]


def derive_names(name: str, prefix: str = DEFAULT_PREFIX) -> Names:
    """The names of a new detection called ``name``.

    :raises InvalidName: when ``name`` has characters other than letters, digits and ``. _ -``,
        does not start with a letter, or has an empty part (``a..b``, ``a_``).
    """
    if not _NAME.match(name):
        raise InvalidName(
            f"invalid detection name {name!r}: use letters, digits and '.', '_' or '-' between them, "
            "starting with a letter (for example MyRule, my_rule or AWS.IAM.MyRule)"
        )
    if "." in name:
        detection_id = name
    else:
        detection_id = f"{prefix}." + "".join(_camel(p) for p in re.split(r"[_-]", name))
    stem = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", detection_id)
    stem = re.sub(r"[^A-Za-z0-9]+", "_", stem).strip("_").lower()
    last = detection_id.rsplit(".", 1)[-1]
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", last)
    display = re.sub(r"[_-]+", " ", words).strip()
    return Names(id=detection_id, stem=stem, display=display[:1].upper() + display[1:])


def validate_log_type(value: str, declared: Iterable[str] = ()) -> str:
    """``value`` if it is a Panther log type (``AWS.CloudTrail``, ``Custom.MyApp``): of the right
    form, and in Panther's catalogue, a ``Custom.*`` name or one of ``declared`` (ini
    ``panther_log_types``), as validation requires.

    :raises InvalidName: otherwise.
    """
    if not _LOG_TYPE.match(value):
        raise InvalidName(
            f"invalid log type {value!r}: a log type has two or more dot-separated parts, "
            "for example AWS.CloudTrail, Okta.SystemLog or Custom.MyApp"
        )
    if not value.startswith("Custom.") and not is_known_log_type(value, declared):
        raise InvalidName(f"unknown log type {value!r}: {log_type_hint(value, declared)}")
    return value


def validate_resource_type(value: str) -> str:
    """``value`` if it looks like a Panther resource type (``AWS.S3.Bucket``).

    :raises InvalidName: otherwise.
    """
    if not _RESOURCE_TYPE.match(value):
        raise InvalidName(
            f"invalid resource type {value!r}: resource types look like AWS.S3.Bucket or AWS.IAM.Role"
        )
    return value
