"""The one YAML module: every spec, override and config file is read through here.

Loading uses ruamel.yaml's C parser (``ruamel.yaml.clib``) in YAML 1.2 mode, like Panther:
``yes``/``no``/``on``/``off`` stay strings, ``0644`` is the decimal 644. Two rules follow PAT 1.11.1
(``analysis_utils._PATSafeLoader``, see shared/reference/semantics.md §2.3) because Panther's
backend reads specs that way: timestamps (``2019-01-01``) stay the exact string written, and a
float needs a dot (``1e3`` is the string ``'1e3'``).

Unlike PAT, a duplicate mapping key is an error naming both lines (PAT silently keeps the last).

Every file is bounded before it is parsed, so that no spec (an upstream one included) can take a
hook, a CI run or pytest down (issue 11 §6): at most :data:`MAX_BYTES` of text, :data:`MAX_DEPTH`
levels of nesting (ruamel's C composer recurses on the C stack and crashes the interpreter at some
20,000 levels) and :data:`MAX_ALIAS_NODES` nodes added by aliases (a 600-byte "billion laughs"
file of aliases 10 wide and 8 deep stands for 10^8 values; its first JSON dump grew to 3 GB).
Each breach is a :class:`YamlError` at the offending line.

The parsed node tree is kept with the data so that any value's line and column can be found
later (:meth:`Document.position`) without a second parse; plain ``dict``/``list`` values are
returned, because panther-core's ``PantherEvent`` only wraps exact ``dict``/``list`` types.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any
from typing import Sequence

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode
from ruamel.yaml.nodes import Node
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.nodes import SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

__all__ = ["MAX_ALIAS_NODES", "MAX_BYTES", "MAX_DEPTH", "Document", "YamlError", "load", "load_file", "dump"]

#: Largest YAML file read (bytes of UTF-8; characters for text given to :func:`load`). The largest
#: file of panther-analysis is ``.versions.yml`` (0.6 MB), the largest spec 50 kB.
MAX_BYTES = 10 * 1024 * 1024
#: Deepest nesting of collections (panther-analysis: under 20).
MAX_DEPTH = 100
#: Most nodes that aliases may add by standing for a copy of their anchor's node.
MAX_ALIAS_NODES = 100_000

_FLOAT_WITHOUT_DOT = re.compile(r"^[-+]?[0-9_]+[eE][-+]?[0-9]+$")


class _Constructor(SafeConstructor):
    """SafeConstructor with PAT's scalar rules (timestamps and dot-less floats stay strings)."""

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        return self.construct_scalar(node)

    def construct_yaml_float(self, node: Any) -> Any:
        value = self.construct_scalar(node)
        if isinstance(value, str) and _FLOAT_WITHOUT_DOT.match(value):
            return value
        return super().construct_yaml_float(node)

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        # Plain strings (~80% of the nodes of a spec) are their own value: skip the tag look-up
        # and bookkeeping that the generic path does for them (issue 14, the cold run).
        if node.__class__ is ScalarNode and getattr(node, "ctag", None) is _PLAIN_STR:
            return node.value
        return super().construct_object(node, deep)


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)
_Constructor.add_constructor("tag:yaml.org,2002:float", _Constructor.construct_yaml_float)


class _Resolver(VersionedResolver):
    """ruamel's resolver with the same answers, ~0.4 s faster on panther-analysis's 1,322 files
    (issue 14, the cold run): the C parser gives it no ``%YAML`` version, so the implicit-resolver
    table of the loader's version is looked up once instead of per scalar, and each tag is one
    shared ``Tag`` object (its text computed once)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._table: dict[Any, list[tuple[str, Any]]] | None = None
        self._tags: dict[str, Tag] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not ScalarNode or not implicit[0] or self.yaml_path_resolvers:
            return super().resolve(kind, value, implicit)
        table = self._table
        if table is None:
            table = self._table = self.versioned_resolver
        for tag, regexp in table.get(value[0] if value else "", []) + table.get(None, []):
            if regexp.match(value):
                shared = self._tags.get(tag)
                if shared is None:
                    shared = self._tags[tag] = Tag(suffix=tag)
                return shared
        return self.DEFAULT_SCALAR_TAG


#: The tag :class:`_Resolver` gives a scalar that is a string by default (plain or quoted).
_PLAIN_STR = VersionedResolver.DEFAULT_SCALAR_TAG


def _new_yaml() -> YAML:
    yaml = YAML(typ="safe", pure=False)
    yaml.Constructor = _Constructor
    yaml.Resolver = _Resolver
    yaml.allow_duplicate_keys = False
    return yaml


_YAML = _new_yaml()


class YamlError(Exception):
    """A problem in a YAML file, located at ``path:line:col`` (1-based).

    ``str(error)`` is ``"path:line:col: message (hint)"`` — the format every error of this
    project uses.
    """

    def __init__(self, path: str | Path, line: int, col: int, message: str, hint: str = "") -> None:
        self.path = str(path)
        self.line = line
        self.col = col
        self.message = message
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.path}:{self.line}:{self.col}: {self.message}{hint}"


class Document:
    """One parsed YAML file.

    ``data`` is the plain Python value (dicts, lists, str, int, float, bool, None).
    ``test_lines`` holds the 1-based line of each entry of a top-level ``Tests`` list (needed for
    every test item, so computed at load). The node tree is not kept (it is ~10x the size of the
    data); :meth:`position` re-parses ``text`` the first time a position is asked for.
    """

    __slots__ = ("path", "data", "_text", "test_lines", "_node")

    def __init__(self, path: Path, data: Any, text: str | None, test_lines: tuple[int, ...] = ()) -> None:
        self.path = path
        self.data = data
        self._text = text
        self.test_lines = test_lines
        self._node: Node | None = None

    @property
    def text(self) -> str:
        """The file's text (read from disk on first use for a document restored from the cache)."""
        if self._text is None:
            try:
                self._text = self.path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                self._text = ""
        return self._text

    @property
    def node(self) -> Node | None:
        if self._node is None and self.text:
            try:
                self._node = _YAML.compose(self.text)
            except YAMLError:  # pragma: no cover - the text parsed once already
                return None
        return self._node

    def node_at(self, keys: Sequence[str | int]) -> Node | None:
        """The node at ``keys`` (mapping keys and list indexes), or the deepest one found."""
        node = self.node
        for key in keys:
            child = _child(node, key)
            if child is None:
                return node
            node = child
        return node

    def position(self, keys: Sequence[str | int] = (), *, of_key: bool = False) -> tuple[int, int]:
        """1-based ``(line, column)`` of the value at ``keys`` (or of its key with ``of_key``).

        Falls back to the deepest existing ancestor, and to ``(1, 1)`` for an empty file.
        """
        node: Node | None = self.node
        for index, key in enumerate(keys):
            if of_key and index == len(keys) - 1 and isinstance(node, MappingNode):
                for k, _ in node.value:
                    if isinstance(k, ScalarNode) and k.value == key:
                        return k.start_mark.line + 1, k.start_mark.column + 1
            child = _child(node, key)
            if child is None:
                break
            node = child
        if node is None:
            return 1, 1
        return node.start_mark.line + 1, node.start_mark.column + 1

    def error(self, keys: Sequence[str | int], message: str, hint: str = "", *, of_key: bool = False) -> YamlError:
        """A :class:`YamlError` located at ``keys``."""
        line, col = self.position(keys, of_key=of_key)
        return YamlError(self.path, line, col, message, hint)


def _test_lines(root: Node | None) -> tuple[int, ...]:
    tests = _child(root, "Tests")
    if isinstance(tests, SequenceNode):
        return tuple(item.start_mark.line + 1 for item in tests.value)
    return ()


def _child(node: Node | None, key: str | int) -> Node | None:
    if isinstance(node, MappingNode):
        v: Node  # ruamel's node.value is untyped: a mapping's is (key node, value node) pairs
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value == key:
                return v
        return None
    if isinstance(node, SequenceNode) and isinstance(key, int):
        return node.value[key] if 0 <= key < len(node.value) else None
    return None


# "&name" / "*name" where a node may start (line start, after a space, "[", "{" or ","); written
# literal-first so that the regex engine skips to each "&"/"*" at C speed.
_ANCHOR = re.compile(r"&(?<![^\s\[{,]&)[^\s\[\]{},]")
_ALIAS = re.compile(r"\*(?<![^\s\[{,]\*)[^\s\[\]{},]")


def _may_exceed(text: str) -> bool:
    """False when ``text`` certainly has no alias and no nesting deeper than :data:`MAX_DEPTH`
    (C-speed string counts; the exact event scan runs only otherwise)."""
    if "&" in text and _ANCHOR.search(text) and _ALIAS.search(text):  # maybe an anchor and an alias
        return True
    # A nesting level costs a flow bracket, or at least one character of a line's leading run
    # of indentation and "- "/"? " indicators (plus the root and a compact mapping).
    room = MAX_DEPTH - 2 - text.count("[") - text.count("{")
    return room < 1 or _leading_run(room).search(text) is not None


@functools.lru_cache(maxsize=None)
def _leading_run(length: int) -> re.Pattern[str]:
    return re.compile(r"^[ \t?-]{%d}" % length, re.MULTILINE)


def _check_bounds(text: str, path: Path) -> None:
    """Raise :class:`YamlError` when ``text`` exceeds a bound (see the module doc).

    Walks the parser's events (libyaml's parser keeps its own stack: no recursion), counting
    depth and the size each anchor stands for; the composer never sees a file that breaks one.
    Syntax errors are left to :func:`load`.
    """
    if len(text) > MAX_BYTES:
        raise YamlError(path, 1, 1, f"the file has {len(text):,} characters, more than the {MAX_BYTES:,} a YAML file may have",
                        "split it, or keep large data outside YAML")
    if not _may_exceed(text):
        return
    sizes: dict[str, int] = {}
    stack: list[tuple[int, str | None]] = []  # (nodes so far, anchor) per open collection
    added = 0
    try:
        for event in _YAML.parse(text):
            name = type(event).__name__
            if name in ("SequenceStartEvent", "MappingStartEvent"):
                if len(stack) >= MAX_DEPTH:
                    raise _bound_error(path, event, f"collections are nested more than {MAX_DEPTH} levels deep", "flatten the data")
                stack.append((1, event.anchor))
                continue
            if name in ("SequenceEndEvent", "MappingEndEvent"):
                count, anchor = stack.pop()
            elif name == "ScalarEvent":
                count, anchor = 1, event.anchor
            elif name == "AliasEvent":
                if event.anchor not in sizes:
                    raise _bound_error(path, event, f"alias *{event.anchor} refers to a node that contains it (a recursive structure)", "write the value out")
                count, anchor = sizes[event.anchor], None
                added += count
                if added > MAX_ALIAS_NODES:
                    raise _bound_error(path, event, f"aliases expand to more than {MAX_ALIAS_NODES:,} nodes (an alias bomb?)",
                                       "write the values out instead of nesting aliases")
            else:
                continue
            if anchor is not None:
                sizes[anchor] = count
            if stack:
                stack[-1] = (stack[-1][0] + count, stack[-1][1])
    except YAMLError:
        return  # a syntax error: load() reports it with its position


def _bound_error(path: Path, event: Any, message: str, hint: str) -> YamlError:
    mark = event.start_mark
    return YamlError(path, mark.line + 1, mark.column + 1, message, hint)


def load(text: str, path: str | Path = "<string>") -> Document:
    """Parse ``text`` into a :class:`Document`.

    :raises YamlError: with the parser's line and column on a syntax error, a duplicate key
        (naming both lines), a tab used for indentation, or a flow-mapping mistake; and when the
        text exceeds :data:`MAX_BYTES`, :data:`MAX_DEPTH` or :data:`MAX_ALIAS_NODES`.
    """
    path = Path(path)
    _check_bounds(text, path)
    node = None
    try:
        node = _YAML.compose(text)
        data = _YAML.constructor.construct_document(node) if node is not None else None
    except MarkedYAMLError as exc:
        raise _from_marked(path, exc, node, text) from None
    except YAMLError as exc:  # pragma: no cover - unmarked ruamel errors are rare
        raise YamlError(path, 1, 1, f"invalid YAML: {exc}") from None
    finally:
        # The safe constructor caches constructed objects per document; drop them.
        _YAML.constructor.constructed_objects.clear()
        _YAML.constructor.recursive_objects.clear()
    return Document(path, data, text, _test_lines(node))


def load_file(path: str | Path) -> Document:
    """Read and parse one file.

    :raises YamlError: on a syntax error (as :func:`load`), on undecodable bytes, or when the
        file cannot be read.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise YamlError(path, 1, 1, f"the file has {size:,} bytes, more than the {MAX_BYTES:,} a YAML file may have",
                            "split it, or keep large data outside YAML")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(path, 1, 1, f"not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise YamlError(path, 1, 1, f"cannot read file: {exc.strerror}") from None
    document = load(text, path)
    # The text is not kept: it is read again from the file if a position is ever needed (~5 MB
    # on panther-analysis that would otherwise stay alive for the whole run).
    document._text = None
    return document


def _from_marked(path: Path, exc: MarkedYAMLError, root: Node | None, text: str) -> YamlError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else 1
    col = mark.column + 1 if mark is not None else 1
    problem = (exc.problem or "invalid YAML").strip()
    hint = ""
    duplicate = re.match(r'found duplicate key "(?P<key>.*)" with value', problem)
    if duplicate is not None:
        key = duplicate.group("key")
        problem = f"duplicate key {key!r}"
        first = _first_key_line(root, key, line - 1)
        hint = f"first defined on line {first}" if first else "a key may appear once per mapping"
    elif exc.context and exc.context_mark is not None and exc.problem_mark is not None:
        hint = f"{exc.context.strip()} at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
    lines = text.splitlines()
    if "tab" in problem.lower() or (0 < line <= len(lines) and lines[line - 1][col - 1 : col] == "\t"):
        hint = "YAML indentation must use spaces, not tabs"
    if "found unexpected ':'" in problem or "mapping values are not allowed" in problem:
        hint = "put a space after ':' in mappings (write `{key: value}`)"
    return YamlError(path, line, col, problem, hint)


def _first_key_line(root: Node | None, key: str, dup_line: int) -> int | None:
    """1-based line of the first occurrence of ``key`` in the mapping that repeats it."""
    stack = [root]
    while stack:
        current = stack.pop()
        if isinstance(current, MappingNode):
            lines: list[int] = [k.start_mark.line for k, _ in current.value if isinstance(k, ScalarNode) and k.value == key]
            if len(lines) > 1 and dup_line in lines:
                return lines[0] + 1
            stack.extend(v for _, v in current.value)
        elif isinstance(current, SequenceNode):
            stack.extend(current.value)
    return None


def dump(data: Any, *, width: int | None = None) -> str:
    """Serialise plain data as block-style YAML (used for generated files and overrides).

    ``width``: line width before long scalars wrap (a huge value keeps every scalar on one line,
    which round-trips exactly: a wrap at a double space would lose one space)."""
    import io

    out = YAML(typ="safe", pure=True)
    out.default_flow_style = False
    if width is not None:
        out.width = width
    out.sort_base_mapping_type_on_output = False  # type: ignore[assignment]  # ruamel annotates its default (None: sort) only
    buffer = io.StringIO()
    out.dump(data, buffer)
    return buffer.getvalue()
