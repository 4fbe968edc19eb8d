"""A lighter run protocol for plain test-case items, and no garbage-collector walks over them.

pytest runs every item in three phases (setup, call, teardown), each a hook call with its own
``CallInfo``, report and per-phase capture and log handler. A detection test case has no fixtures
and its collectors set nothing up, so for such an item the setup and teardown phases do nothing
but cost about half of pytest's per-item time (issue 14: 0.375 → 0.195 ms per item, ~0.6 s on
panther-analysis). :func:`run_one_phase` runs only the call phase, through pytest's own
``call_and_report``, so everything users rely on happens as before: the detection's prints are
captured (and shown with a failure, or with ``-rP``), log records are captured, ``--pdb`` opens,
``-x``/``--maxfail``, ``--lf``, JUnit XML (with its properties), report logs and pytest-xdist see
the call report. Whenever something could need a setup or teardown phase, the item goes through
pytest's normal protocol instead (:func:`one_phase_allowed`):

* a ``skip``, ``skipif`` or ``xfail`` mark on the item (``--panther-skip-disabled`` adds ``skip``);
* ``--setup-show``, ``--setup-only``, ``--setup-plan``;
* a collector above the item with a ``setup``/``teardown`` of its own (a package ``__init__.py``
  with ``setup_module``), or pytest's set-up state holding a finalizer (a fixture) that this
  item's teardown would have to run, or a set-up error;
* a ``pytest_runtest_setup``/``pytest_runtest_teardown`` implementation other than pytest's own
  (a team's ``conftest.py``, a third-party plugin such as pytest-randomly).

JUnit XML and report logs also get a passed setup and teardown report (built directly, without
running the phases) because their consumers expect three; the teardown one carries the item's
properties, which the JUnit writer adds there.

:func:`freeze_collected` moves everything alive after collection (items, specs, the repository)
out of the garbage collector's reach: gen-2 collections during the run, pytest's final
``gc.collect()`` and the interpreter's at exit then stop walking them (issue 14: -11% CPU).
"""
from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import pytest
from _pytest.logging import caplog_handler_key  # the logging plugin's per-item stash keys
from _pytest.logging import caplog_records_key
from _pytest.nodes import Node
from _pytest.runner import call_and_report

if TYPE_CHECKING:
    from _pytest.runner import SetupState

__all__ = ["freeze_collected", "one_phase_allowed", "run_one_phase", "thaw"]

#: Marks whose handling needs the setup phase (the skipping plugin evaluates them there).
_PHASE_MARKS = frozenset({"skip", "skipif", "xfail"})
#: pytest's own plugins that implement ``pytest_runtest_setup``/``_teardown`` (pytest 9): the
#: one-phase protocol does their part of the work (capture, logging) or needs none of it.
_BUILTIN_PHASE_PLUGINS = frozenset({"runner", "skipping", "capturemanager", "logging-plugin",
                                    "threadexception", "unraisableexception"})
_FROZEN = pytest.StashKey[bool]()
_GC_PAUSED = pytest.StashKey[bool]()
_PLAIN_CHAIN = pytest.StashKey[bool]()


class _Runs:
    """How many runs in this process have collected and not ended (pytester's in-process runs
    nest inside the outer one)."""

    active = 0


def pause_gc(config: pytest.Config) -> None:
    """During collection, no automatic collections: the items only grow then, and each full
    collection walked them and the repository again (~1.5 s of 4.8 s on the ×4 corpus). :func:`freeze_collected` collects once at the end; :func:`resume_gc` re-enables."""
    if gc.isenabled():
        gc.disable()
        config.stash[_GC_PAUSED] = True


def resume_gc(config: pytest.Config) -> None:
    """Undo :func:`pause_gc` (also when collection failed)."""
    if config.stash.get(_GC_PAUSED, False):
        config.stash[_GC_PAUSED] = False
        gc.enable()


def freeze_collected(config: pytest.Config) -> None:
    """After collection: collect once, then keep what is alive out of later collections.

    A run that nests in none thaws what an earlier run in the same process left frozen first.
    """
    if _Runs.active == 0:
        gc.unfreeze()
    gc.collect()
    gc.freeze()
    config.stash[_FROZEN] = True
    _Runs.active += 1


def thaw(config: pytest.Config) -> None:
    """At the end of a run: a run nested in another (pytester's in-process runs) gives what is
    frozen back to the collector, else the process would keep every nested run's objects. The
    outermost run leaves them frozen: the process ends, and pytest's last ``gc.collect()`` and
    the interpreter's own need not walk them (the next run in this process thaws them)."""
    if config.stash.get(_FROZEN, False):
        config.stash[_FROZEN] = False
        _Runs.active -= 1
        if _Runs.active > 0:
            gc.unfreeze()


def _plain(node: Node) -> bool:
    return type(node).setup is Node.setup and type(node).teardown is Node.teardown


def _only_builtin_phase_hooks(node: Node) -> bool:
    """Whether only pytest's own plugins implement the setup and teardown hooks for ``node``'s
    path: a team's ``conftest.py`` or a plugin with a ``pytest_runtest_setup`` (a skip condition,
    an environment it prepares) needs the phases run."""
    hook = node.ihook  # conftest-aware: only the conftest files that apply to node's path
    return all(
        impl.plugin_name in _BUILTIN_PHASE_PLUGINS
        for name in ("pytest_runtest_setup", "pytest_runtest_teardown")
        for impl in getattr(hook, name).get_hookimpls()
    )


def _plain_chain(item: pytest.Item) -> bool:
    """Whether no node from the session down to ``item`` has a setup or teardown of its own, and
    no plugin or conftest.py hooks into those phases (cached on the item's parent, which all its
    siblings share)."""
    parent = item.parent
    assert parent is not None
    plain = parent.stash.get(_PLAIN_CHAIN, None)
    if plain is None:
        plain = all(_plain(node) for node in parent.listchain()) and _only_builtin_phase_hooks(parent)
        parent.stash[_PLAIN_CHAIN] = plain
    return plain and (_plain(item) or not getattr(item, "fixturenames", None))


def _setup_state(item: pytest.Item) -> SetupState:
    return item.session._setupstate


def _teardown_is_trivial(item: pytest.Item, nextitem: pytest.Item | None) -> bool:
    """Whether the teardown phase of ``item`` would run nothing: every node it would pop (those not
    needed by ``nextitem``) holds only its own no-op teardown, and nothing set up failed."""
    stack = _setup_state(item).stack
    if not stack:
        return True
    keep = set(nextitem.listchain()) if nextitem is not None else set()
    for node, (finalizers, exc) in stack.items():
        if exc is not None:
            return False
        if node not in keep and len(finalizers) > 1:
            return False
    return True


def one_phase_allowed(item: pytest.Item, nextitem: pytest.Item | None) -> bool:
    """Whether ``item`` can skip its setup and teardown phases without any change users could see."""
    option = item.config.option
    if getattr(option, "setupshow", False) or getattr(option, "setuponly", False) or getattr(option, "setupplan", False):
        return False
    if any(mark.name in _PHASE_MARKS for mark in item.iter_markers()):
        return False
    return _plain_chain(item) and _teardown_is_trivial(item, nextitem)


def _all_phases_wanted(config: pytest.Config) -> bool:
    option = config.option
    return bool(getattr(option, "xmlpath", None) or getattr(option, "reportlog", None))


def _passed_report(item: pytest.Item, when: str) -> pytest.TestReport:
    """The report a phase that did nothing produces (as ``TestReport.from_item_and_call`` builds it)."""
    sections = [(f"Captured {key} {rwhen}", content) for rwhen, key, content in item._report_sections]
    return pytest.TestReport(
        item.nodeid, item.location, {name: 1 for name in item.keywords}, "passed", None, when,  # type: ignore[arg-type]
        sections, 0.0, 0.0, 0.0, user_properties=item.user_properties,
    )


def run_one_phase(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """pytest's ``pytest_runtest_protocol`` for an item whose setup and teardown do nothing: the
    call phase only (see the module docstring)."""
    ihook = item.ihook
    session = item.session
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    all_phases = _all_phases_wanted(item.config)
    if all_phases:
        ihook.pytest_runtest_logreport(report=_passed_report(item, "setup"))
    item.stash[caplog_records_key] = {}  # what the logging plugin's setup phase stashes for its call phase
    call_and_report(item, "call", log=True)
    if session.shouldfail or session.shouldstop:
        # pytest tears everything down here (to report teardown errors): do it the normal way.
        call_and_report(item, "teardown", log=True, nextitem=None)
    else:
        if caplog_records_key in item.stash:
            del item.stash[caplog_records_key]
        if caplog_handler_key in item.stash:
            del item.stash[caplog_handler_key]
        state = _setup_state(item)
        if state.stack:  # only no-op teardowns left (one_phase_allowed): pop what nextitem does not need
            state.teardown_exact(nextitem)
        if all_phases:
            ihook.pytest_runtest_logreport(report=_passed_report(item, "teardown"))
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
