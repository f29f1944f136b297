"""``/console/stream``: the overview live, as Server-Sent Events (role viewer).

On connecting the stream sends the incidents panel and every tile, then, each
``poll_s``, what changed since: ``event: incidents`` ``{"html", "new": [{"id",
"html"}]}`` when the active incidents change (``new``: those the screen has not seen, to
announce; first, being the news), ``event: place`` ``{"id", "urn", "status", "html"}``
per tile. The board
computes once per interval for all screens. A comment line keeps a quiet stream alive.

Bounded: at most ``max_streams`` at once (503 beyond, with ``Retry-After``). It ends with
the session: each tick asks the gate whether the user is still signed in (``peek``, a
look that is no use of the session), and when the session is gone (logged out, idle,
disabled) sends ``event: end`` and closes; the script then reloads the page, which goes
to the login form. A screen nobody touches so logs off at the idle timeout like any other
(21 CFR 11.10(d), Annex 11 §12: automatic logoff); a wall screen that must stay on is a
viewer someone logs in again, not a session the stream keeps alive.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from traceability.errors import StoreUnavailable
from traceability.incidents.model import IncidentState
from web.console.board import Board, PlaceView, Snapshot
from web.console.gate import ConsoleGate, allows
from web.console.tiles import Fragments
from web.problem import Problem

MIN_TICK_S = 0.01  # a zero poll interval (tests) must still yield to the loop
RETRY_MS = 5000  # how soon a browser reconnects after the connection dropped


class StreamSlots:
    """Counts the open streams against the bound."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0

    def take(self) -> None:
        if self.open >= self.limit:
            raise Problem(
                503,
                "too many live screens",
                f"{self.limit} screens are watching already; the page reloads itself "
                "every minute without live updates",
                headers={"Retry-After": "60"},
            )
        self.open += 1

    def give(self) -> None:
        self.open -= 1


class _Stream(StreamingResponse):
    """Gives its slot back however the stream ends (also when it never started)."""

    def __init__(self, content: AsyncIterator[str], slots: StreamSlots) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        self._slots = slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._slots.give()


def event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class LiveStream:
    def __init__(
        self, gate: ConsoleGate, board: Board, fragments: Fragments, incidents: bool = True
    ) -> None:
        """``incidents``: whether the console serves incidents (else no panel to send)."""
        self._gate = gate
        self._board = board
        self._fragments = fragments
        self._incidents = incidents
        self.slots = StreamSlots(board.settings.max_streams)

    async def endpoint(self, request: Request) -> Response:
        await self._gate.require(request, "viewer")
        self.slots.take()
        return _Stream(self._events(request), self.slots)

    async def _events(self, request: Request) -> AsyncIterator[str]:
        tiles: dict[str, PlaceView] = {}
        seen: set[str] | None = None  # incident ids the screen has been told of
        active: tuple[tuple[str, IncidentState], ...] | None = None
        yield f"retry: {RETRY_MS}\n\n"
        while True:
            # A gate may remember the user for the length of a request (the real one's
            # ``user`` does, in request.state): ask about a fresh view of it each tick.
            user = await self._gate.peek(Request({**request.scope, "state": {}}))
            if user is None or not allows(user.role, "viewer"):
                yield event("end", {})
                return
            try:
                snapshot = await self._board.snapshot()
            except StoreUnavailable:  # the records are away for a moment: the screen waits
                yield ": records unavailable\n\n"
                await asyncio.sleep(max(self._board.settings.poll_s, MIN_TICK_S))
                continue
            sent = False
            now_active = tuple((i.id, i.state) for i in snapshot.incidents)
            if self._incidents and now_active != active:
                new = [i for i in snapshot.incidents if seen is not None and i.id not in seen]
                seen = (seen or set()) | {i.id for i in snapshot.incidents}
                active = now_active
                yield event(
                    "incidents",
                    {
                        "html": self._fragments.panel(request, snapshot.incidents),
                        "new": [
                            {"id": i.id, "html": self._fragments.announcement(request, i)}
                            for i in new
                        ],
                    },
                )
                sent = True
            for place in snapshot.places:
                if tiles.get(place.urn) != place:
                    tiles[place.urn] = place
                    yield self._tile(request, place, snapshot)
                    sent = True
            if not sent:
                yield ": quiet\n\n"
            await asyncio.sleep(max(self._board.settings.poll_s, MIN_TICK_S))

    def _tile(self, request: Request, place: PlaceView, snapshot: Snapshot) -> str:
        return event(
            "place",
            {
                "id": place.dom_id,
                "urn": place.urn,
                "status": place.status,
                "html": self._fragments.tile(request, place, snapshot),
            },
        )
