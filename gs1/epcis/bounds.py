"""What one EPCIS event may hold, checked before anything parses its values.

Every string (URIs, ILMD text, sensor values) at most ``MAX_STRING`` characters, fields
nested at most ``MAX_DEPTH`` levels (sensor reports and ILMD are the deepest standard
parts, ~4 levels), every number and numeric string within what the event hash writes
out (``gs1.epcis.prehashvalue``). ``within_bounds`` answers for a whole event in one
walk that keeps no paths: the common, valid case. ``gs1.epcis.event.check_bounds``
walks again, naming the field, only for an event it refuses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from gs1.epcis.prehashvalue import INT_LIMIT, parse_number
from gs1.errors import NumberOutOfRange

MAX_STRING = 8192
MAX_DEPTH = 24


def within_bounds(data: Any) -> bool:
    """Whether nothing in ``data`` breaks the bounds (False: ``check_bounds`` says what)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        kind = type(node)
        if kind is str:
            if len(node) > MAX_STRING:
                return False
            # Only a sign, a point or a digit starts a numeric string.
            if node and (node[0] in "+-." or node[0].isdigit()):
                try:
                    parse_number(node)
                except NumberOutOfRange:
                    return False
        elif kind is dict or kind is list:
            if depth > MAX_DEPTH:
                return False
            for item in node.values() if kind is dict else node:
                push((item, depth + 1))
        elif kind is int:
            if abs(node) >= INT_LIMIT:
                return False
        elif kind is float:
            if not math.isfinite(node):
                return False
        elif node is not None and kind is not bool and not _plain_other(node):
            return False
    return True


def _plain_other(node: Any) -> bool:
    """Anything else (a tuple, a Mapping, a str or int subclass) is left to the careful
    walk: False, unless it is nothing that walk looks at."""
    return not isinstance(node, str | int | float | Mapping | list | tuple)
