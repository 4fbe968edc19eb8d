"""Command-line options, ini keys and PAT's ``PANTHER_*`` environment variables, in one place.

Precedence: command line, then environment variable (PAT's name where PAT has one), then ini
(for the settings shared with ``panther-gitops``: :mod:`pytest_panther.config`, ini key then
``[tool.pytest-panther]``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pytest

from pytest_panther.config import SettingsError
from pytest_panther.config import read_settings
from pytest_panther.spec.repository import PAT_DEFAULT_PATH

__all__ = ["Filter", "Settings", "add_options", "parse_filter", "settings_from_config"]

#: Keys a ``--panther-filter`` may name (PAT 1.11.1 ``core/parse.py``; semantics.md §5.9).
FILTER_KEYS = frozenset(
    "ActionDelaySeconds AlertContext AlertTitle AnalysisType AutoRemediationID AutoRemediationParameters "
    "BaseVersion CreateAlert CreatedBy DedupPeriodMinutes Description Detection DisplayName "
    "DynamicSeverities Enabled Filename GlobalID GroupBy InlineFilters LogTypes OnlyUseBaseRiskScore "
    "OutputIds PolicyID Reference Reports ResourceTypes RuleID Runbook ScheduledQueries Severity Status "
    "SummaryAttributes Suppressions Tags Tests Threshold".split()
)
_TRUE = {"y", "yes", "t", "true", "on", "1"}
_FALSE = {"n", "no", "f", "false", "off", "0"}


@dataclass(frozen=True)
class Filter:
    """``KEY=V1,V2`` (include) or ``KEY!=V1,V2`` (exclude)."""

    key: str
    values: frozenset[str]
    exclude: bool

    def matches(self, spec_data: dict[str, Any]) -> bool:
        """PAT's matching (semantics.md §5.9): the spec value (``""`` when absent), as a set of its
        items, compared case-insensitively. Unlike PAT, numbers and booleans compare by their
        text, so ``DedupPeriodMinutes=60`` selects what it says."""
        value = spec_data.get(self.key, "")
        items = value if isinstance(value, list) else [value]
        have = {_text(item) for item in items}
        hit = bool(have & self.values)
        return not hit if self.exclude else hit


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).lower()


def parse_filter(text: str) -> Filter:
    """Parse one ``--panther-filter`` argument.

    :raises pytest.UsageError: for a malformed filter or an unknown key (with the allowed keys).
    """
    exclude = "!=" in text
    key, sep, values = text.partition("!=" if exclude else "=")
    key = key.strip()
    if not sep or not key or not values:
        raise pytest.UsageError(
            f"--panther-filter {text!r}: expected KEY=VALUE[,VALUE...] or KEY!=VALUE[,VALUE...]"
        )
    if key not in FILTER_KEYS:
        import difflib

        close = difflib.get_close_matches(key, sorted(FILTER_KEYS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (one of: {', '.join(sorted(FILTER_KEYS))})"
        raise pytest.UsageError(f"--panther-filter {text!r}: {key!r} is not a filter key{hint}")
    parts = [v.strip() for v in values.split(",") if v.strip()]
    if key == "Enabled":
        lowered = values.strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise pytest.UsageError(f"--panther-filter {text!r}: Enabled takes true or false")
        parts = ["true" if lowered in _TRUE else "false"]
    return Filter(key, frozenset(p.lower() for p in parts), exclude)


def combine(filters: list[Filter]) -> list[Filter]:
    """Repeated keys of one polarity are merged (``RuleID=A`` + ``RuleID=B`` selects A and B).

    PAT keeps only the last one (a dict overwrite, semantics.md §5.9); we do what the user means.
    """
    merged: dict[tuple[str, bool], set[str]] = {}
    for item in filters:
        merged.setdefault((item.key, item.exclude), set()).update(item.values)
    return [Filter(key, frozenset(values), exclude) for (key, exclude), values in merged.items()]


@dataclass(frozen=True)
class Settings:
    """Everything the plugin was asked to do, resolved from options, env and ini."""

    paths: tuple[str, ...] = (PAT_DEFAULT_PATH,)
    minimum_tests: int = 0
    filters: tuple[Filter, ...] = ()
    skip_disabled: bool = False
    fresh_module: bool = False
    allow_extra_keys: bool = False
    extra_keys_allowlist: frozenset[str] = frozenset()
    secrets: dict[str, str] = field(default_factory=dict)
    available_destinations: tuple[str, ...] = ()
    changed_since: str | None = None
    allow_network: bool = False
    test_names: frozenset[str] = frozenset()
    minimum_tests_on: tuple[str, ...] = ()
    #: Findings Panther accepts (warnings) fail too (``--panther-strict``, ini ``panther_strict``).
    strict: bool = False
    #: Log types the team declares besides the catalogue and ``Custom.*`` (ini ``panther_log_types``).
    log_types: frozenset[str] = frozenset()


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("panther", "Panther detections (pytest-panther)")
    group.addoption("--panther-minimum-tests", type=int, default=None, metavar="N",
                    help="fail detections with fewer than N tests; N >= 2 also requires a true and a false test "
                         "(env PANTHER_MINIMUM_TESTS, ini panther_minimum_tests)")
    group.addoption("--panther-filter", action="append", default=None, metavar="KEY=V1,V2",
                    help="run only detections whose KEY matches (KEY!=V excludes); repeatable, "
                         "repeated keys are merged (env PANTHER_FILTER, space-separated)")
    group.addoption("--panther-skip-disabled", action="store_true", default=None,
                    help="skip detections with Enabled: false (env PANTHER_SKIP_DISABLED_TESTS)")
    group.addoption("--panther-fresh-module", action="store_true", default=None,
                    help="load a fresh detection module for every test instead of one per detection")
    group.addoption("--panther-allow-extra-keys", action="store_true", default=None,
                    help="allow unknown top-level keys in rule/policy specs (PAT --ignore-extra-keys)")
    group.addoption("--panther-secret", action="append", default=[], metavar="NAME=VALUE",
                    help="value served for an AWS Secrets Manager read in detection tests (repeatable)")
    group.addoption("--panther-available-destination", action="append", default=None, metavar="NAME",
                    help="a destination name detections may return (PAT --available-destination)")
    group.addoption("--panther-changed-since", default=None, metavar="REF",
                    help="run only detections affected by changes since git REF (specs, their .py, "
                         "global helpers they import, data models of their log types)")
    group.addoption("--panther-test-name", action="append", default=[], metavar="NAME",
                    help="run only the test cases with exactly this name, spaces included (repeatable; "
                         "PAT --test-names)")
    group.addoption("--panther-minimum-tests-on", action="append", default=[], metavar="PATH",
                    help="fail only the detections whose spec or .py is among these files below the minimum "
                         "tests; list the others (repeatable; the panther-test hook passes a commit's files)")
    group.addoption("--panther-allow-network", action="store_true", default=False,
                    help="let detection tests open network connections (off by default)")
    group.addoption("--panther-strict", action="store_true", default=None,
                    help="fail on findings Panther accepts but that look wrong (pytest warnings otherwise; "
                         "ini panther_strict)")
    # The keys shared with `panther-gitops validate` and the hooks default to None (unset), so that
    # pytest_panther.config can fall back to [tool.pytest-panther] as those tools do.
    parser.addini("panther_paths", "folders (relative to rootdir) holding analysis specs (or [tool.pytest-panther] "
                  "paths; default: where PAT's `pat test` looks, nested folders included)", type="linelist",
                  default=None)
    parser.addini("panther_strict", "validation warnings (findings Panther accepts) fail too "
                  "(or [tool.pytest-panther] strict)", type="bool", default=None)
    parser.addini("panther_log_types", "log types known besides Panther's catalogue and Custom.* "
                  "(or [tool.pytest-panther] log_types)", type="linelist", default=None)
    parser.addini("panther_minimum_tests", "minimum tests per detection (or [tool.pytest-panther] minimum_tests)",
                  default=None)
    parser.addini("panther_filter", "filters, one per line", type="linelist", default=[])
    parser.addini("panther_skip_disabled", "skip disabled detections", type="bool", default=False)
    parser.addini("panther_fresh_module", "fresh module per test", type="bool", default=False)
    parser.addini("panther_allow_extra_keys", "allow unknown top-level spec keys "
                  "(or [tool.pytest-panther] allow_extra_keys)", type="bool", default=None)
    parser.addini("panther_extra_keys", "top-level keys always allowed, e.g. organisation metadata "
                  "(or [tool.pytest-panther] extra_keys)", type="linelist", default=None)
    parser.addini("panther_secrets_file", "JSON file: secret name -> value for detection tests", default="")
    parser.addini("panther_available_destinations", "destination names", type="linelist", default=[])


def _env_bool(name: str) -> bool | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return value.strip().lower() in _TRUE


def settings_from_config(config: pytest.Config) -> Settings:
    """Resolve :class:`Settings`.

    :raises pytest.UsageError: on a malformed filter, minimum, secret or secrets file.
    """
    opt = config.option

    def pick(cli: Any, env: Any, ini: Any) -> Any:
        return cli if cli is not None else env if env is not None else ini

    try:
        shared = read_settings(config.rootpath, ini=config.getini)
    except SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None
    env_min = os.environ.get("PANTHER_MINIMUM_TESTS")
    minimum = pick(opt.panther_minimum_tests, env_min, shared.minimum_tests)
    try:
        minimum = int(minimum)
    except ValueError:
        raise pytest.UsageError(f"--panther-minimum-tests: expected a whole number, got {minimum!r}") from None
    env_filters = os.environ.get("PANTHER_FILTER")
    raw_filters = pick(opt.panther_filter, env_filters.split() if env_filters else None, config.getini("panther_filter"))
    filters = combine([parse_filter(text) for text in raw_filters])
    secrets: dict[str, str] = {}
    secrets_file = config.getini("panther_secrets_file")
    if secrets_file:
        path = Path(config.rootpath, secrets_file)
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise pytest.UsageError(f"panther_secrets_file {path}: cannot read a JSON object ({exc})") from None
        if not isinstance(loaded, dict):
            raise pytest.UsageError(f"panther_secrets_file {path}: expected a JSON object of name -> value")
        secrets.update({str(k): v for k, v in loaded.items()})
    for item in opt.panther_secret:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise pytest.UsageError(f"--panther-secret {item!r}: expected NAME=VALUE")
        secrets[name] = value
    env_dest = os.environ.get("PANTHER_AVAILABLE_DESTINATION")
    destinations = pick(opt.panther_available_destination, env_dest.split(",") if env_dest else None,
                        config.getini("panther_available_destinations"))
    return Settings(
        paths=shared.paths,
        minimum_tests=minimum,
        filters=tuple(filters),
        skip_disabled=bool(pick(opt.panther_skip_disabled, _env_bool("PANTHER_SKIP_DISABLED_TESTS"),
                                config.getini("panther_skip_disabled"))),
        fresh_module=bool(pick(opt.panther_fresh_module, None, config.getini("panther_fresh_module"))),
        allow_extra_keys=bool(pick(opt.panther_allow_extra_keys, _env_bool("PANTHER_IGNORE_EXTRA_KEYS"),
                                   shared.allow_extra_keys)),
        extra_keys_allowlist=shared.extra_keys,
        secrets=secrets,
        available_destinations=tuple(destinations or ()),
        changed_since=opt.panther_changed_since,
        allow_network=bool(opt.panther_allow_network),
        test_names=frozenset(opt.panther_test_name),
        minimum_tests_on=tuple(opt.panther_minimum_tests_on),
        strict=bool(pick(opt.panther_strict, None, shared.strict)),
        log_types=shared.log_types,
    )
