"""The bundle's signed manifest: every section exactly as the site exported it.

The manifest holds the SHA-256 of each section (header, streams, keys, each item
without its record, each batch, the exporter's claims when it has any) and the
exporting site's Ed25519 signature over them. It is what vouches for the streams'
lengths and heads: the entries' own hash chain shows a gap or a reordering, but not
that the newest entries were cut off (the chain simply looks shorter).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.evidence import manifest_bytes, manifest_digests
from ledger.signing import parse_instant
from ledger.verify.attribution import Attribution
from ledger.verify.report import Check, as_list, fail, ok, skipped


def manifest_check(
    bundle: dict[str, Any], attribution: Attribution, latest_anchor: datetime | None
) -> Check:
    """The manifest's signature and every section's digest (skipped when unsigned).

    Its key must be one the trust anchors name (``attribution``), valid at the time
    it claims and at the newest anchor it carries (``latest_anchor``).
    """
    manifest = bundle.get("manifest")
    if manifest is None:
        return skipped(
            "bundle signature",
            "bundle",
            "skipped: the bundle is unsigned (built for local verification)",
        )
    try:
        sig = manifest["signature"]
        claimed = manifest["digests"]
        key_id = str(sig["key_id"])
        value = bytes.fromhex(sig["value"])
        signed_at = parse_instant(sig["signed_at"])
    except (KeyError, TypeError, ValueError):
        return fail("bundle signature", "bundle", "manifest is malformed")
    key, problem = attribution.manifest_key(key_id, signed_at, latest_anchor)
    if key is None:
        return fail("bundle signature", "bundle", problem or "no key")
    fmt = str(bundle.get("format"))
    if not key.verify(value, manifest_bytes(claimed, key_id, sig["signed_at"], fmt)):
        return fail("bundle signature", "bundle", "manifest signature does not verify")
    actual = manifest_digests(bundle)
    changed = [
        name
        for name in ("header", "streams", "keys", "claims")
        if claimed.get(name) != actual.get(name)
    ]
    for section in ("items", "batches"):
        want, got = claimed.get(section) or [], actual[section]
        if len(want) != len(got):
            changed.append(f"{section} (count {len(got)}, signed {len(want)})")
        changed += [
            f"{section}[{i}]{_label(bundle, section, i)}"
            for i, (w, g) in enumerate(zip(want, got, strict=False))
            if w != g
        ]
    if changed:
        return fail("bundle signature", "bundle", "changed after export: " + ", ".join(changed))
    return ok(
        "bundle signature",
        "bundle",
        f"every section as exported, signed by {key.owner} ({key.key_id})",
    )


def completeness_checks(bundle: dict[str, Any]) -> list[Check]:
    """Without a signed manifest, say per stream that its tail could not be checked.

    The hash chain proves every entry up to the claimed ``length`` is present and
    in order; an entry removed from the end, together with the claim, leaves a
    shorter chain that is just as consistent. Only the site's signature over the
    stream's length and head (the manifest) rules that out, so its absence is
    reported, never passed over: a lot's newest event may be missing.
    """
    if bundle.get("manifest") is not None:
        return []  # the manifest check vouches for (or fails) every stream's length
    subject = bundle.get("subject")
    whose = "the lot's" if isinstance(subject, dict) and subject.get("type") == "lot" else "the"
    checks = []
    for claim in as_list(bundle.get("streams")):
        if not isinstance(claim, dict) or not isinstance(claim.get("stream"), str):
            continue  # the chain checks already name a malformed stream record
        checks.append(
            skipped(
                "completeness",
                f"stream {claim['stream']}",
                f"could not check: completeness of {whose} tail — no signed manifest "
                f"vouches for its length ({claim.get('length')}), so newest events removed "
                "together with that length would not show; ask for the site-signed export "
                "(`tracehub ledger export`)",
            )
        )
    return checks


def _label(bundle: dict[str, Any], section: str, index: int) -> str:
    try:
        item = bundle[section][index]
        if section == "items":
            return f" ({item['entry']['kind']} {item['entry']['record_id']})"
        return f" (batch {item['id']})"
    except (KeyError, TypeError, IndexError):
        return ""
