"""Request parameters every JSON endpoint reads the same way, faults raised as problems.

``path_lot(request)`` is the ``{gtin}/{lot}`` of ``/lots/…``, ``/auditor/lots/…`` and
``/evidence/…``: the GTIN checked and padded to 14 digits, the lot as given (unknown lots
are the endpoint's business: each says what it lacks).
"""

from __future__ import annotations

from starlette.requests import Request

from gs1.errors import InvalidIdentifier
from gs1.identifiers import Gtin
from web.problem import Problem


def path_lot(request: Request) -> tuple[str, str]:
    """(gtin, lot) of the path; a malformed GTIN is a 400 "bad GTIN" naming the fault."""
    try:
        gtin = Gtin.parse(request.path_params["gtin"]).value
    except InvalidIdentifier as exc:
        raise Problem(400, "bad GTIN", str(exc)) from exc
    return gtin, request.path_params["lot"]
