"""CBV 2.0 controlled vocabulary: business steps and dispositions.

EPCIS 2.0 JSON accepts the bare short names (``"arriving"``), their Web URIs
(``https://ref.gs1.org/cbv/BizStep-arriving``) and the legacy 1.x URNs
(``urn:epcglobal:cbv:bizstep:arriving``). Values copied from the CBV 2.0 JSON-LD
context (gs1/EPCIS @ 2b888befbc07, JSON-LD-Context/modular/cbv-context-*.jsonld).

``short_name`` is the one check of a CBV value; ``BizStep`` and ``Disposition`` are
the string types that run it and keep the value as written.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict

BIZ_STEPS = frozenset(
    {
        "accepting",
        "arriving",
        "assembling",
        "collecting",
        "commissioning",
        "consigning",
        "creating_class_instance",
        "cycle_counting",
        "decommissioning",
        "departing",
        "destroying",
        "disassembling",
        "dispensing",
        "encoding",
        "entering_exiting",
        "holding",
        "inspecting",
        "installing",
        "killing",
        "loading",
        "other",
        "packing",
        "picking",
        "receiving",
        "removing",
        "repackaging",
        "repairing",
        "replacing",
        "reserving",
        "retail_selling",
        "sampling",
        "sensor_reporting",
        "shipping",
        "staging_outbound",
        "stock_taking",
        "stocking",
        "storing",
        "transporting",
        "unloading",
        "unpacking",
        "void_shipping",
    }
)

DISPOSITIONS = frozenset(
    {
        "active",
        "available",
        "completeness_verified",
        "completeness_inferred",
        "conformant",
        "container_closed",
        "container_open",
        "damaged",
        "destroyed",
        "dispensed",
        "disposed",
        "encoded",
        "expired",
        "in_progress",
        "in_transit",
        "inactive",
        "mismatch_instance",
        "mismatch_class",
        "mismatch_quantity",
        "needs_replacement",
        "no_pedigree_match",
        "non_conformant",
        "non_sellable_other",
        "partially_dispensed",
        "recalled",
        "reserved",
        "retail_sold",
        "returned",
        "sellable_accessible",
        "sellable_not_accessible",
        "stolen",
        "unavailable",
        "unknown",
    }
)

Vocabulary = Literal["bizStep", "disposition"]


class _Vocab(BaseModel):
    model_config = ConfigDict(frozen=True)

    values: frozenset[str]
    uri_prefix: str
    urn_prefix: str


_VOCABS: dict[str, _Vocab] = {
    "bizStep": _Vocab(
        values=BIZ_STEPS,
        uri_prefix="https://ref.gs1.org/cbv/BizStep-",
        urn_prefix="urn:epcglobal:cbv:bizstep:",
    ),
    "disposition": _Vocab(
        values=DISPOSITIONS,
        uri_prefix="https://ref.gs1.org/cbv/Disp-",
        urn_prefix="urn:epcglobal:cbv:disp:",
    ),
}


def short_name(vocabulary: Vocabulary, value: str) -> str:
    """The CBV short name of ``value``, or ``value`` itself for a user-defined URI.

    Raises ``ValueError`` naming the vocabulary when ``value`` is neither a CBV term
    (in any of its three spellings) nor an absolute URI of the user's own vocabulary.
    """
    vocab = _VOCABS[vocabulary]
    for prefix in (vocab.uri_prefix, vocab.urn_prefix):
        if value.startswith(prefix):
            term = value[len(prefix) :]
            if term not in vocab.values:
                raise ValueError(f"{term!r} is not a CBV 2.0 {vocabulary} term")
            return term
    if value in vocab.values:
        return value
    if ":" in value:
        return value  # a user vocabulary URI (EPCIS allows extensions by URI)
    raise ValueError(
        f"{value!r} is not a CBV 2.0 {vocabulary}; use a CBV short name such as "
        f"{sorted(vocab.values)[1]!r} or a full URI of your own vocabulary"
    )


def checked(vocabulary: Vocabulary, value: str) -> str:
    """``value`` unchanged once ``short_name`` accepts it; its ``ValueError`` otherwise."""
    short_name(vocabulary, value)
    return value


BizStep = Annotated[str, AfterValidator(partial(checked, "bizStep"))]
"""A CBV 2.0 business step in any of its spellings, or a user vocabulary URI."""

Disposition = Annotated[str, AfterValidator(partial(checked, "disposition"))]
"""A CBV 2.0 disposition in any of its spellings, or a user vocabulary URI."""
