"""Who signed, and whether their key was valid when it mattered.

A signature is attributed when its key is one of the auditor's trust anchors
(``ledger.verify.trust``); without trust anchors nothing is attributed, and the
report says so instead of VERIFIED.

A key's validity is judged by a time somebody other than the signer attests: the
block time of the anchor of the batch carrying the entry. The entry's own
``signed_at`` is the signer's word, and a rotated-out key (left on an old disk,
say) can write any ``signed_at``; it cannot move the block its batch was mined in.
An entry signed just before a rotation is anchored a little after it (the batch is
cut and mined within seconds, minutes if the chain is slow), so the key's
signatures are accepted in batches anchored up to ``ANCHOR_GRACE`` after its
validity ended; later, the entry fails, naming the key and both times. An entry
not anchored yet is judged against the time of verification, and its signature
is reported pending.

The manifest is not anchored: the newest anchor it carries bounds when it was really
signed (it cannot have been signed before the block it names was mined), so its key
must be valid then (give or take ``CLOCK_SKEW`` between the site's clock and the
chain's).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ledger.entry import Entry, signature_problem
from ledger.signing import PublicKey, fingerprint_of, format_instant
from ledger.verify.report import Outcome
from ledger.verify.trust import TrustAnchors

ANCHOR_GRACE = timedelta(hours=1)
CLOCK_SKEW = timedelta(minutes=10)


class Attribution:
    """Keys of one bundle, judged against the trust anchors (``trust``; None: none given)."""

    def __init__(
        self,
        keys: dict[str, PublicKey],
        trust: TrustAnchors | None,
        now: datetime,
        grace: timedelta = ANCHOR_GRACE,
    ) -> None:
        self._keys = keys
        self.trust = trust
        self._now = now
        self._grace = grace

    def key(self, key_id: str) -> tuple[PublicKey | None, str | None]:
        """The key to judge a signature by (with the trusted period), or why there is none."""
        key = self._keys.get(key_id)
        if self.trust is None:
            if key is None:
                return None, f"signing key {key_id} is not among the bundle's keys"
            return key, None
        anchor = self.trust.key(key) if key is not None else self.trust.by_key_id(key_id)
        if anchor is None:
            named = key_id if key is None else f"{key_id} ({fingerprint_of(key.public_key)})"
            return None, (
                f"signed by key {named}, which no trust anchor names "
                f"({self.trust.describe()}): signed or re-signed by somebody else"
            )
        if anchor.public is not None:
            return anchor.public, None  # the trust anchor's key and period, not the bundle's
        if key is None:
            return None, f"signing key {key_id} is trusted, but the bundle lacks its public key"
        return key, None

    def entry(self, entry: Entry, anchored_at: datetime | None) -> tuple[Outcome, str]:
        """The signature check of one entry: the key's trust, its validity, the bytes."""
        key, problem = self.key(entry.signature.key_id)
        if key is None:
            return Outcome.FAIL, problem or "no key"
        problem = signature_problem(entry, key)
        if problem is not None:
            return Outcome.FAIL, problem
        kid = key.key_id
        signed_at = format_instant(entry.signature.signed_at)
        by = f"Ed25519 signature by {key.owner} ({kid})"
        if anchored_at is None:
            if _ended(key, self._now, self._grace):
                return Outcome.FAIL, (
                    f"key {kid} was rotated out at {_until(key)}; this entry is not anchored, "
                    f"so only its own signed_at {signed_at} says it was signed in time "
                    f"(judged now, {format_instant(self._now)})"
                )
            return Outcome.PENDING, (
                f"{by}; key valid now — judged by its batch's anchor time once anchored"
            )
        anchored = format_instant(anchored_at)
        if _ended(key, anchored_at, self._grace):
            return Outcome.FAIL, (
                f"key {kid}'s validity ended at {_until(key)}, but the batch carrying this "
                f"entry was anchored at {anchored} (signed_at {signed_at} is backdated)"
            )
        if anchored_at + CLOCK_SKEW < key.valid_from:
            return Outcome.FAIL, (
                f"the batch carrying this entry was anchored at {anchored}, before key "
                f"{kid}'s validity began ({format_instant(key.valid_from)})"
            )
        return Outcome.OK, f"{by}, key valid at the anchor time {anchored}"

    def manifest_key(
        self, key_id: str, signed_at: datetime, latest_anchor: datetime | None
    ) -> tuple[PublicKey | None, str | None]:
        """The manifest's key, or why it does not vouch for the bundle."""
        key, problem = self.key(key_id)
        if key is None:
            return None, problem
        if not key.covers(signed_at):
            return None, (
                f"manifest signed at {format_instant(signed_at)}, outside key {key_id}'s "
                f"validity ({key.period()})"
            )
        if latest_anchor is not None and _ended(key, latest_anchor - CLOCK_SKEW, timedelta(0)):
            return None, (
                f"manifest key {key_id}'s validity ended at {_until(key)}, but the manifest "
                f"names a batch anchored at {format_instant(latest_anchor)}: its signed_at "
                f"{format_instant(signed_at)} is backdated"
            )
        return key, None


def _ended(key: PublicKey, moment: datetime, grace: timedelta) -> bool:
    return key.valid_until is not None and moment >= key.valid_until + grace


def _until(key: PublicKey) -> str:
    assert key.valid_until is not None
    return format_instant(key.valid_until)
