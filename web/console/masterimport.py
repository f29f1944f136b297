"""The console's master-data import (admin): a CSV or JSON export of products, lots or
locations, previewed with every bad row named, imported once the admin signs it.

* ``GET /console/import`` — the form: the kind, and the file (an upload) or its text
  pasted (a phone may have no file to pick).
* ``POST /console/import`` (``csrf``, ``kind``, ``file`` or ``text`` and ``name``) — the
  preview: every row validated as ``tracehub records import`` validates it
  (``traceability.imports.check_rows``), nothing written. Bad rows are listed (row,
  column, why) with a 400 and the form again; good ones show their first rows and the
  confirming form, which carries the file's text, name and kind again.
* ``POST /console/import/confirm`` (those, ``reason``, ``password``, ``totp``) — the rows
  validated again (what is signed is what is written, whatever the preview showed),
  then an electronic signature of "approved import of N KIND from NAME"
  (``ConsoleGate.sign``), then the rows written through ``MasterData`` acting as the
  user (actor kind ``user``, their role, the reason and the signature): each new
  version is an audit entry carrying the signature. A refusal by the records (a lot of
  an unknown product) imports nothing and lists why (409); a refused signature asks
  again (403). The answer is the page itself, with the warnings about what came in (a
  reload asks the browser to send the form, and its signature, again; identical rows
  change nothing).

The file comes as ``multipart/form-data`` (``web.console.formdata.multipart_of``; the
hub has no python-multipart), the text pasted or re-sent as a field of the form. It is
JSON when its name ends ``.json`` (or, without ``.json``/``.csv``, its text starts with
``[`` or ``{``), else CSV; at most ``MAX_FILE_BYTES`` of UTF-8.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from traceability.audit.entry import AuditActor, ESignature
from traceability.audit.port import Authorship
from traceability.errors import StoreUnavailable
from traceability.imports import ImportRejected, RowError, check_rows, import_records, parse_rows
from traceability.masterdata.service import MasterData
from web.console.formdata import MULTIPART_TYPE, Upload, form_of, media_type, multipart_of
from web.console.gate import ConsoleGate, SessionUser
from web.console.render import ConsoleRenderer
from web.problem import Problem

IMPORT_PATH = "/console/import"
CONFIRM_PATH = "/console/import/confirm"
KINDS: tuple[str, ...] = ("products", "lots", "locations")  # what MasterData signs
MAX_FILE_BYTES = 256 * 1024  # the confirming form sends it again, form-encoded
PREVIEW_ROWS = 20
_REASON_LIMIT = 2000


class ImportFile(BaseModel):
    """A file to import: its kind, its name as given, its text and format."""

    model_config = ConfigDict(frozen=True)

    kind: str
    name: str
    text: str
    fmt: Literal["csv", "json"]


class Checked(BaseModel):
    """A file's rows as the preview shows them: the count, the first rows (as read) and
    their columns, or why they cannot be imported."""

    model_config = ConfigDict(frozen=True)

    count: int = 0
    columns: tuple[str, ...] = ()
    rows: tuple[dict[str, Any], ...] = ()
    errors: tuple[RowError, ...] = ()


def meaning_of(file: ImportFile, count: int) -> str:
    """What the admin's signature says (recorded in English, as every meaning is)."""
    noun = file.kind if count != 1 else file.kind.removesuffix("s")
    return f"approved import of {count} {noun} from {file.name}"


def import_routes(
    gate: ConsoleGate,
    renderer: ConsoleRenderer,
    master: MasterData,
    on_imported: Callable[[], None] | None = None,
) -> list[Route]:
    """``/console/import`` and its confirmation (module docstring), writing through
    ``master`` (the hub's ``MasterData``, with the audit trail); ``on_imported`` is told
    after each import (the hub drops its cached consumer pages)."""

    def render(request: Request, user: SessionUser, status: int = 200, **context: Any) -> Response:
        return renderer.page(
            request,
            "import.html",
            status,
            user=user,
            csrf=gate.csrf_token(request),
            kinds=KINDS,
            max_kib=MAX_FILE_BYTES // 1024,
            **context,
        )

    async def form_page(request: Request) -> Response:
        user = await gate.require(request, "admin")
        return render(request, user)

    async def preview(request: Request) -> Response:
        user = await gate.require(request, "admin")
        if media_type(request) == MULTIPART_TYPE:
            fields, files = await multipart_of(request)
        else:
            fields, files = await form_of(request), {}
        await gate.check_csrf(request, fields.get("csrf"))
        file = _file_of(fields, files.get("file"))
        checked = await run_in_threadpool(_check, file)
        status = 400 if checked.errors else 200
        return render(
            request, user, status, file=file, checked=checked, meaning=_meaning(checked, file)
        )

    async def confirm(request: Request) -> Response:
        user = await gate.require(request, "admin")
        form = await form_of(request)
        await gate.check_csrf(request, form.get("csrf"))
        file = _file_of(form, None)
        checked = await run_in_threadpool(_check, file)
        shown: dict[str, Any] = {
            "file": file,
            "checked": checked,
            "meaning": _meaning(checked, file),
        }
        if checked.errors:
            return render(request, user, 400, **shown)
        reason = form.get("reason", "").strip()[:_REASON_LIMIT]
        if not reason:
            return render(request, user, 400, sign_error="reason", **shown)
        try:
            signature = await gate.sign(
                user,
                form.get("password", ""),
                form.get("totp", "").strip() or None,
                meaning_of(file, checked.count),
            )
        except Problem as refused:
            if refused.status != 403:
                raise
            return render(request, user, 403, sign_error=refused.detail, reason=reason, **shown)
        author = Authorship(
            actor=AuditActor(name=signature.name, kind="user", role=signature.role),
            reason=reason,
            signature=ESignature(**signature.model_dump()),
        )
        warnings: list[str] = []
        try:
            count = await run_in_threadpool(
                import_records,
                master.store,
                file.kind,
                file.text,
                file.fmt,
                master.acting(author),
                warnings.append,
            )
        except ImportRejected as exc:  # the records refused: nothing was imported
            rejected = checked.model_copy(update={"errors": tuple(exc.errors)})
            return render(request, user, 409, file=file, checked=rejected, rejected=True)
        except StoreUnavailable as exc:
            raise Problem(
                503, "records unavailable", f"{exc}; nothing imported, try again",
                headers={"Retry-After": "5"},
            ) from exc  # fmt: skip
        if on_imported is not None:
            on_imported()
        return render(request, user, file=file, imported=count, warnings=warnings)

    return [
        Route(IMPORT_PATH, form_page, methods=["GET"]),
        Route(IMPORT_PATH, preview, methods=["POST"]),
        Route(CONFIRM_PATH, confirm, methods=["POST"]),
    ]


def _meaning(checked: Checked, file: ImportFile) -> str | None:
    return None if checked.errors else meaning_of(file, checked.count)


def _file_of(fields: dict[str, str], upload: Upload | None) -> ImportFile:
    """The file of a form: the upload when one was picked, else the text field."""
    kind = fields.get("kind", "")
    if kind not in KINDS:
        raise Problem(400, "bad form", f"kind: choose one of {', '.join(KINDS)}")
    if upload is not None and upload.content:
        if len(upload.content) > MAX_FILE_BYTES:
            raise Problem(400, "bad form", f"file: at most {MAX_FILE_BYTES // 1024} KiB")
        try:
            text = upload.content.decode("utf-8-sig")  # a spreadsheet's BOM is no column
        except UnicodeDecodeError as exc:
            raise Problem(400, "bad form", "file: save it as UTF-8 text (CSV or JSON)") from exc
        name = upload.filename or "upload"
    else:
        text = fields.get("text", "").removeprefix("\ufeff")
        if not text.strip():
            raise Problem(400, "bad form", "file: choose a file, or paste its text")
        if len(text.encode("utf-8")) > MAX_FILE_BYTES:
            raise Problem(400, "bad form", f"text: at most {MAX_FILE_BYTES // 1024} KiB")
        name = fields.get("name", "").strip()[:200] or "pasted"
    return ImportFile(kind=kind, name=name, text=text, fmt=_format(name, text))


def _format(name: str, text: str) -> Literal["csv", "json"]:
    lowered = name.lower()
    if lowered.endswith(".json"):
        return "json"
    if lowered.endswith(".csv"):
        return "csv"
    return "json" if text.lstrip()[:1] in ("[", "{") else "csv"


def _check(file: ImportFile) -> Checked:
    try:
        rows = check_rows(file.kind, file.text, file.fmt)
        raw = parse_rows(file.kind, file.text, file.fmt)
    except ImportRejected as exc:
        return Checked(errors=tuple(exc.errors))
    columns = list(dict.fromkeys(key for row in raw[:PREVIEW_ROWS] for key in row))
    return Checked(count=len(rows), columns=tuple(columns), rows=tuple(raw[:PREVIEW_ROWS]))
