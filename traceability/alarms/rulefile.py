"""YAML loading that keeps line numbers, and validation whose errors name the line.

The rule file (``TRACEHUB_ALARMS_FILE``) is checked at start: a typo must stop the hub with
"alarms.yaml:12: rules[2].for_min: Input should be greater than 0", not run a rule set that
silently ignores it. The YAML is composed into nodes first (``yaml.compose``) so every mapping
key and sequence item keeps its line; the data handed to pydantic is built from those nodes,
and each validation error's location is mapped back to the nearest node it names.

The file is configuration an operator writes, so it is also read as hostile input: a crafted
file must stop the hub with a RuleFileError naming the line, never crash or hang it. Anchors
and aliases are refused (a "billion laughs" file, or one that refers to itself, fails at its
first anchor before anything is expanded); so is every tag but the standard ones (str, int,
float, bool, null, timestamp, seq, map: no ``!!python/...``); the text is capped at
``MAX_BYTES``, the nodes at ``MAX_NODES`` and the nesting at ``MAX_DEPTH``; and a scalar that
does not construct (``!!int abc``) names its line.

Other sections of the same file (``notify:``) are validated with ``validate_section`` by
the package that owns them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from traceability.errors import RuleFileError

M = TypeVar("M", bound=BaseModel)
PathKey = tuple[str | int, ...]

MAX_BYTES = 1_000_000  # a rule file is a few kB; the scenario file too
MAX_NODES = 50_000
MAX_DEPTH = 50
_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
)


class _RefusedError(Exception):
    """A construct the loader does not accept, at ``line`` (1-based)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses anchors, aliases, non-standard tags and oversized documents
    while composing, before any node is expanded."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._nodes = 0
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _RefusedError(line, "anchors and aliases (&name, *name) are not allowed")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _RefusedError(line, f"more than {MAX_NODES} values")
        if self._depth >= MAX_DEPTH:
            raise _RefusedError(line, f"nested more than {MAX_DEPTH} levels deep")
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is not None and node.tag not in _TAGS:
            raise _RefusedError(line, f"tag {node.tag!r} is not allowed")
        return node


class LoadedYaml(BaseModel):
    """A YAML document's data and the line (1-based) of every key and item in it."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: str
    data: Any
    lines: dict[PathKey, int]

    def line(self, where: PathKey) -> int:
        """The line of ``where``, or of its nearest ancestor the file has."""
        key = tuple(where)
        while key and key not in self.lines:
            key = key[:-1]
        return self.lines.get(key, 1)

    def error(self, where: PathKey, message: str) -> RuleFileError:
        """ "path:line: dotted.field: message" (the whole file: "path:line: message")."""
        field = f" {dotted(where)}:" if where else ""
        return RuleFileError(f"{self.path}:{self.line(where)}:{field} {message}")


def load_yaml(path: str | Path) -> LoadedYaml:
    """Read and compose ``path``; ``RuleFileError`` naming the line when it is not YAML."""
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleFileError(f"{shown}: cannot read the rule file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise RuleFileError(f"{shown}: the rule file is not UTF-8 text: {exc.reason}") from exc
    if len(text) > MAX_BYTES:
        raise RuleFileError(f"{shown}: the rule file is over {MAX_BYTES} characters")
    try:
        node = yaml.compose(text, Loader=_Loader)
    except _RefusedError as exc:
        raise RuleFileError(f"{shown}:{exc.line}: {exc.message}") from exc
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else 1
        raise RuleFileError(f"{shown}:{line}: not valid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise RuleFileError(f"{shown}: not valid YAML: {exc}") from exc
    lines: dict[PathKey, int] = {}
    data = None if node is None else _value(node, (), lines, shown)
    return LoadedYaml(path=shown, data=data, lines=lines)


def validate_section(model: type[M], loaded: LoadedYaml, key: str) -> M:
    """Validate the top-level ``key`` of ``loaded`` as ``model`` (missing = empty mapping).

    Raises ``RuleFileError`` with one "path:line: dotted.field: message" line per problem.
    """
    data = loaded.data if isinstance(loaded.data, dict) else {}
    section = data.get(key)
    try:
        return model.model_validate({} if section is None else section)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
                # Name the tag field itself (``rules[2].kind``), not the item.
                loc = (*loc, str(error.get("ctx", {}).get("discriminator", "")).strip("'"))
            where = _located(section, (key,), loc)
            problems.append(str(loaded.error(where, error["msg"])))
        raise RuleFileError("\n".join(problems)) from exc


def dotted(where: PathKey) -> str:
    """``("rules", 2, "for_min")`` as ``rules[2].for_min``."""
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _located(data: Any, prefix: PathKey, loc: PathKey) -> PathKey:
    """The path in the file of a pydantic error location: union tags (``temperature`` in
    ``rules.2.temperature.for_min``) are not keys of the data and are dropped; any other
    last element is kept (a missing field is named though the file lacks it)."""
    where = list(prefix)
    for number, part in enumerate(loc):
        last = number == len(loc) - 1
        in_dict = isinstance(data, dict) and part in data
        if in_dict or (isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)):
            data = data[part]
        elif not last or (isinstance(data, dict) and part in data.values()):
            continue  # a union tag (the value of ``kind``), not a key
        where.append(part)
    return tuple(where)


def _value(node: yaml.Node, where: PathKey, lines: dict[PathKey, int], path: str) -> Any:
    lines.setdefault(where, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, where, path)
            if not isinstance(key, str | int):
                line = key_node.start_mark.line + 1
                raise RuleFileError(f"{path}:{line}: {dotted(where)}: keys must be text")
            child = (*where, key)
            if key in out:
                line = key_node.start_mark.line + 1
                raise RuleFileError(f"{path}:{line}: {dotted(child)}: given twice")
            lines[child] = key_node.start_mark.line + 1
            out[key] = _value(value_node, child, lines, path)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            items.append(_value(item, (*where, index), lines, path))
        return items
    return _scalar(node, where, path)


def _scalar(node: yaml.Node, where: PathKey, path: str) -> Any:
    """A scalar as its tagged type (int, bool, str, ...); ``RuleFileError`` naming the line
    when it does not construct (``!!int abc``)."""
    if not isinstance(node, yaml.ScalarNode):
        line = node.start_mark.line + 1
        raise RuleFileError(f"{path}:{line}: {dotted(where) or 'key'}: keys must be text")
    try:
        return yaml.SafeLoader("").construct_object(node)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        line = node.start_mark.line + 1
        field = f" {dotted(where)}:" if where else ""
        raise RuleFileError(
            f"{path}:{line}:{field} {node.value!r} does not read as !!{_tag(node)}"
        ) from exc


def _tag(node: yaml.Node) -> str:
    return str(node.tag).rsplit(":", 1)[-1]
