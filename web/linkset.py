"""GS1 Digital Link linksets (RFC 9264, ``application/linkset+json``).

A resolver answers ``?linkType=all`` with every link it knows for the item, keyed by
GS1 link type (``https://gs1.org/voc/…``), and ``?linkType=gs1:xyz`` by redirecting to
that one link (the default link when it has none). Pure: the web layer passes the base
URL and which links exist.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from gs1.digitallink import escape
from web.i18n import LANGUAGES
from web.resolver import Target

LINKSET_TYPE = "application/linkset+json"
GS1_VOC = "https://gs1.org/voc/"


class Link(BaseModel):
    model_config = ConfigDict(frozen=True)

    link_type: str  # the GS1 voc term, e.g. "pip"
    href: str
    title: str
    media_type: str
    hreflang: tuple[str, ...] = ()


def links_for(
    target: Target,
    base: str,
    *,
    evidence_public: bool,
    anchored: bool,
    has_footprint: bool,
) -> list[Link]:
    """The links the hub serves for ``target``; the first is the default link."""
    page = base.rstrip("/") + target.path
    links = [
        Link(
            link_type="pip",
            href=page,
            title="Product information page",
            media_type="text/html",
            hreflang=tuple(LANGUAGES),
        )
    ]
    if target.lot is None:
        return links
    if evidence_public and anchored:
        links.append(
            Link(
                link_type="traceability",
                href=f"{base.rstrip('/')}/evidence/{target.gtin}/{escape(target.lot)}",
                title="Evidence bundle (tracehub-evidence/2): events, proofs, anchors",
                media_type="application/json",
            )
        )
    links.append(
        Link(
            link_type="recallStatus",
            href=page + "#recall",
            title="Recall status of this lot",
            media_type="text/html",
            hreflang=tuple(LANGUAGES),
        )
    )
    if has_footprint:
        links.append(
            Link(
                link_type="sustainabilityInfo",
                href=page + "#carbon",
                title="Carbon footprint (ISO 14083)",
                media_type="text/html",
                hreflang=tuple(LANGUAGES),
            )
        )
    return links


def linkset(target: Target, base: str, links: list[Link]) -> dict[str, Any]:
    """The RFC 9264 JSON document; ``defaultLink`` repeats the first link."""
    context: dict[str, Any] = {"anchor": base.rstrip("/") + target.path}
    for link in [links[0].model_copy(update={"link_type": "defaultLink"}), *links]:
        entry: dict[str, Any] = {"href": link.href, "title": link.title, "type": link.media_type}
        if link.hreflang:
            entry["hreflang"] = list(link.hreflang)
        context.setdefault(GS1_VOC + link.link_type, []).append(entry)
    return {"linkset": [context]}


def pick(links: list[Link], link_type: str) -> Link:
    """The link for ``?linkType=`` (``gs1:pip``, ``pip`` or the full URI); else the default."""
    term = link_type.removeprefix("gs1:").removeprefix(GS1_VOC)
    return next((link for link in links if link.link_type == term), links[0])
