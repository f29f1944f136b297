"""The console's device page: every device identity, and revocation for admins.

* ``GET /console/devices`` (viewer): each probe, RFID reader, AGV and gateway: kind,
  site and place, online or offline by its last reading, battery when it reports one,
  certificate expiry, calibration due date (None until the registry keeps one), revoked.
* ``POST /console/devices/revoke`` (admin; fields ``csrf``, ``device``, ``password``,
  ``totp``): an electronic signature of "revoked device D" (``ConsoleGate.sign``: the
  password again, and the TOTP code when enabled), then the revocation, then
  ``on_signed(signature, action, subject)`` so the audit trail records who, when and
  the meaning. The hook runs after the revocation succeeded: a signature is recorded
  only for what was done. A refused signature re-renders the page with a 403 and why;
  an unknown device a 404; a missing or wrong CSRF token is the gate's 403.

The devices come through the ``DeviceDirectory`` port: ``web`` never imports the
gateway, so ``tracehub.consoledevices`` implements it over the device registry and the
last readings in InfluxDB.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Literal, Protocol
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from web.console.formdata import form_of
from web.console.gate import ConsoleGate, SessionUser, Signature, allows
from web.console.render import ConsoleRenderer
from web.errors import UnknownDevice
from web.problem import Problem

DeviceKind = Literal["temperature", "rfid", "agv", "gateway"]
Link = Literal["online", "offline", "unknown"]  # unknown: no reading known
REVOKE_ACTION = "revoke device"


class Device(BaseModel):
    """One device identity as the console shows it."""

    model_config = ConfigDict(frozen=True)

    id: str  # the identity's username: {site}/{kind}/{id}, agv/{maker}/{serial}, gateway/{id}
    kind: DeviceKind
    site: str | None = None
    place: str | None = None  # where a probe or reader is placed now (SGLN URN)
    link: Link = "unknown"
    battery: float | None = None  # percent, from its last reading that carried one
    last_reading: datetime | None = None
    certificate_expiry: datetime | None = None  # None: password only
    calibration_due: date | None = None  # not kept by the registry yet
    revoked: bool = False
    revoked_at: datetime | None = None


class DeviceListing(BaseModel):
    """The devices, and why their readings are missing when they cannot be read."""

    model_config = ConfigDict(frozen=True)

    devices: tuple[Device, ...]
    readings_error: str | None = None  # e.g. InfluxDB did not answer: links are unknown


class DeviceDirectory(Protocol):
    """The site's devices (``tracehub.consoledevices.RegistryDevices``). Both calls
    block (files, InfluxDB): the routes run them in a worker thread."""

    def listing(self) -> DeviceListing: ...

    def revoke(self, device: str) -> Device:
        """Revoke ``device`` (its certificate on the CRL, out of the broker's ACL);
        revoking a revoked one again changes nothing. Raises ``UnknownDevice``."""
        ...


# signature, action ("revoke device"), subject (the device id)
OnSigned = Callable[[Signature, str, str], Awaitable[None] | None]


def device_routes(
    gate: ConsoleGate,
    renderer: ConsoleRenderer,
    directory: DeviceDirectory,
    *,
    on_signed: OnSigned | None = None,
    places: Callable[[], dict[str, str]] | None = None,
) -> list[Route]:
    """``/console/devices`` and its revoke action; ``places`` (URN → name, e.g. from the
    records' locations) names the places devices are at."""

    async def render(
        request: Request,
        user: SessionUser,
        status: int = 200,
        *,
        error: str | None = None,
        failed: str | None = None,
    ) -> Response:
        listing = await run_in_threadpool(directory.listing)
        names = await run_in_threadpool(places) if places is not None else {}
        # Confirmed only for a device the directory says is revoked: a crafted link
        # cannot make the page claim a revocation.
        asked = request.query_params.get("revoked")
        done = asked if any(d.id == asked and d.revoked for d in listing.devices) else None
        return renderer.page(
            request,
            "devices.html",
            status,
            user=user,
            csrf=gate.csrf_token(request),
            listing=listing,
            names=names,
            may_revoke=allows(user.role, "admin"),
            revoked=done,
            error=error,
            failed=failed,
        )

    async def devices_page(request: Request) -> Response:
        user = await gate.require(request, "viewer")
        return await render(request, user)

    async def revoke(request: Request) -> Response:
        user = await gate.require(request, "admin")
        form = await form_of(request)
        await gate.check_csrf(request, form.get("csrf"))
        device = form.get("device", "")
        known = {d.id for d in (await run_in_threadpool(directory.listing)).devices}
        if device not in known:
            return await render(request, user, 404, error="unknown", failed=device)
        try:
            signature = await gate.sign(
                user,
                form.get("password", ""),
                form.get("totp", "").strip() or None,
                f"revoked device {device}",
            )
        except Problem as refused:
            if refused.status != 403:
                raise
            return await render(request, user, 403, error=refused.detail, failed=device)
        try:
            await run_in_threadpool(directory.revoke, device)
        except UnknownDevice:  # removed between the listing and now
            return await render(request, user, 404, error="unknown", failed=device)
        if on_signed is not None:
            outcome = on_signed(signature, REVOKE_ACTION, device)
            if outcome is not None:
                await outcome
        # Post/redirect/get: a reload does not send the signature again.
        return RedirectResponse(f"/console/devices?revoked={_quoted(device)}", status_code=303)

    return [
        Route("/console/devices", devices_page, methods=["GET"]),
        Route("/console/devices/revoke", revoke, methods=["POST"]),
    ]


def _quoted(device: str) -> str:
    return quote(device, safe="")
