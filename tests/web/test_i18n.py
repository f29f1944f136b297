"""Message catalogues: complete in every language, placeholders filled; negotiation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import web
from traceability.masterdata.versions import FIELDS
from web.i18n import LANGUAGES, CatalogError, catalog, negotiate

MESSAGES = Path(web.__file__).parent / "messages"
TEMPLATES = Path(web.__file__).parent / "templates"


def test_every_language_has_every_key_with_the_same_placeholders() -> None:
    english = json.loads((MESSAGES / "en.json").read_text(encoding="utf-8"))
    for language in LANGUAGES:
        messages = json.loads((MESSAGES / f"{language}.json").read_text(encoding="utf-8"))
        assert set(messages) == set(english), language
        for key, text in english.items():
            assert set(re.findall(r"{(\w+)}", messages[key])) == set(
                re.findall(r"{(\w+)}", text)
            ), (language, key)


def test_every_key_used_by_the_templates_exists() -> None:
    english = json.loads((MESSAGES / "en.json").read_text(encoding="utf-8"))
    used: set[str] = set()
    renderers = [TEMPLATES.parent / name for name in ("pages.py", "renderer.py")]
    console = (TEMPLATES.parent / "console").glob("*.py")
    for source in [*TEMPLATES.glob("**/*.html"), *renderers, *console]:
        text = source.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\(\s*['\"]([a-z_.]+)['\"]", text))
    # Completed at render time: state_ok, kind_leg, fact_changed, field_expiry, the
    # console's console.role.operator …
    dynamic = ("state_", "kind_", "fact_", "field_", "console.role.")
    used -= set(dynamic)
    prefixed = {k for k in english if k.startswith(dynamic)}
    assert used - set(english) == set()
    assert set(english) - (used | prefixed) == set()  # no message left unused


def test_translate_fills_placeholders() -> None:
    assert catalog("en").t("pending", pending=1, total=3) == "1 of 3 events not yet anchored."
    assert catalog("zh-CN").t("pending", pending=1, total=3) == "3 个事件中有 1 个尚未上链。"


def test_unknown_key_and_language_are_named() -> None:
    with pytest.raises(CatalogError, match="'nope' is not in the en catalogue"):
        catalog("en").t("nope")
    with pytest.raises(CatalogError, match="language 'fr': use one of en, zh-CN"):
        catalog("fr")


@pytest.mark.parametrize(
    ("header", "requested", "language"),
    [
        (None, None, "en"),
        ("zh-CN", None, "zh-CN"),
        ("zh", None, "zh-CN"),
        ("fr-FR, zh;q=0.7, en;q=0.5", None, "zh-CN"),
        ("en;q=0.2, zh-CN;q=0.9", None, "zh-CN"),
        ("zh-CN;q=0, en", None, "en"),
        ("de", None, "en"),
        ("zh-CN", "en", "en"),
        ("en", "zh-cn", "zh-CN"),
        ("en", "klingon", "en"),
        ("zh;q=abc, en", None, "en"),
    ],
)
def test_negotiation(header: str | None, requested: str | None, language: str) -> None:
    assert negotiate(header, requested) == language


def test_every_signed_master_data_field_has_a_name_in_every_language() -> None:
    # The page names a field that is not proven yet by ``field_<name>``: a field added to
    # the signed versions without its message would break the page of every such lot.
    for language in LANGUAGES:
        messages = json.loads((MESSAGES / f"{language}.json").read_text(encoding="utf-8"))
        missing = {f"field_{f}" for names in FIELDS.values() for f in names} - set(messages)
        assert missing == set(), language
