"""Message catalogues for the consumer pages, and the language a request gets.

Every string a consumer reads lives in ``web/messages/<lang>.json`` (flat
``key → text`` with ``{name}`` placeholders); templates call ``t("key", name=…)``.
The language comes from ``?lang=`` (the page's switch) or else the best match in
``Accept-Language`` (RFC 9110 quality values), else English. A catalogue that lacks a
key English has is refused when loaded, so a missing translation fails a test, not a
shopper.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

_DIR = Path(__file__).parent / "messages"
DEFAULT_LANGUAGE = "en"
# Order = the switch's order on the page.
LANGUAGES: dict[str, str] = {"en": "English", "zh-CN": "中文"}


class CatalogError(ValueError):
    """A message catalogue is missing, malformed or incomplete."""


class Catalog(BaseModel):
    """One language's messages."""

    model_config = ConfigDict(frozen=True)

    language: str
    messages: Mapping[str, str]

    def t(self, key: str, /, **params: object) -> str:
        """The message ``key`` with its ``{placeholders}`` filled in."""
        try:
            text = self.messages[key]
        except KeyError:
            raise CatalogError(f"message {key!r} is not in the {self.language} catalogue") from None
        return text.format(**params) if params else text


@cache
def catalog(language: str) -> Catalog:
    """The catalogue of ``language`` (one of ``LANGUAGES``), checked against English."""
    if language not in LANGUAGES:
        raise CatalogError(f"language {language!r}: use one of {', '.join(LANGUAGES)}")
    messages = _load(language)
    if language != DEFAULT_LANGUAGE:
        missing = sorted(set(_load(DEFAULT_LANGUAGE)) - set(messages))
        if missing:
            raise CatalogError(f"messages/{language}.json lacks {', '.join(missing)}")
    return Catalog(language=language, messages=messages)


def _load(language: str) -> dict[str, str]:
    path = _DIR / f"{language}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogError(f"messages/{language}.json cannot be read: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise CatalogError(f"messages/{language}.json must map keys to strings")
    return data


def negotiate(accept_language: str | None, requested: str | None = None) -> str:
    """The page language: ``requested`` when we have it, else Accept-Language, else en."""
    if requested:
        exact = _match(requested)
        if exact is not None:
            return exact
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag))
    for _, _, tag in sorted(ranked):
        found = _match(tag)
        if found is not None:
            return found
    return DEFAULT_LANGUAGE


def _match(tag: str) -> str | None:
    """Our language for a BCP 47 tag: exact, else by primary subtag (zh-TW → zh-CN)."""
    lowered = tag.strip().lower()
    for language in LANGUAGES:
        if language.lower() == lowered:
            return language
    primary = lowered.split("-", 1)[0]
    for language in LANGUAGES:
        if language.lower().split("-", 1)[0] == primary:
            return language
    return None
