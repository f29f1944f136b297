"""The anchoring worker's side of the web3 adapter: prepare, broadcast and watch txs.

``AnchorSender`` extends ``AnchorContract`` (same contract binding and error
translation) with what ``ledger.anchor.AnchorChain`` asks for: a gas estimate
first (a reverting anchor is refused before any gas is spent), EIP-1559 fees
under a ceiling, a balance check, local signing with an explicit nonce (so the
signed transaction can be stored and re-broadcast unchanged after a restart),
receipts, and ``locate``, which finds a root's ``Anchored`` log and block so a
reorg or a crash between send and record is noticed.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_typing import HexStr
from eth_utils.exceptions import ValidationError as EthValidationError
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3RPCError
from web3.types import Nonce, TxParams, Wei

from ledger.anchor import UINT64_MAX, Broadcast, SentTx, TxOutcome
from ledger.errors import AnchorRejected, ChainError, InsufficientFunds
from ledger.evm.contract import AnchorContract, _require_bytes32
from ledger.fees import FeePolicy, Fees, plan_fees

_KNOWN = ("already known", "known transaction", "already imported")
_BROKE = ("insufficient funds", "cannot afford")
_NONCE_USED = (
    "nonce too low",
    "nonce is too low",
    "replacement transaction underpriced",
    "invalid transaction nonce",
)


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex()


class AnchorSender(AnchorContract):
    """An ``AnchorChain``: the TracehubAnchor contract, sending from a local key."""

    def __init__(
        self, w3: Web3, address: str, private_key: str, fees: FeePolicy | None = None
    ) -> None:
        super().__init__(w3, address, private_key)
        self._account = Account.from_key(private_key)
        self._fees = fees or FeePolicy()

    @property
    def sender(self) -> str:
        return str(self._account.address)

    def balance(self) -> int:
        return int(self._guard(lambda: self._w3.eth.get_balance(self._account.address), "balance"))

    def next_nonce(self) -> int:
        return int(
            self._guard(
                lambda: self._w3.eth.get_transaction_count(self._account.address, "pending"),
                "read nonce",
            )
        )

    def head(self) -> int:
        return int(self._guard(lambda: self._w3.eth.block_number, "read head"))

    def prepare_anchor(
        self,
        root: bytes,
        size: int,
        metadata: bytes,
        nonce: int,
        replacing: SentTx | None = None,
    ) -> SentTx:
        _require_bytes32(root, "root")
        _require_bytes32(metadata, "metadata")
        if not 0 <= size <= UINT64_MAX:
            raise AnchorRejected(f"size {size} does not fit uint64: pass the batch's leaf count")
        call = self._contract.functions.anchor(root, size, metadata)
        sender = self._account.address
        # Estimating runs the call: a revert (already anchored, not allowed) surfaces
        # here as AnchorRejected and no transaction is ever sent.
        try:
            estimate = int(self._guard(lambda: call.estimate_gas({"from": sender}), "estimate gas"))
        except (ChainError, EthValidationError) as exc:
            text = str(exc).lower()
            if isinstance(exc, ChainError) and not any(m in text for m in _BROKE):
                raise
            if not any(m in text for m in _BROKE):
                raise ChainError(f"estimate gas failed: {exc}") from exc
            raise InsufficientFunds(
                f"anchoring account {sender} cannot pay for gas ({exc}); fund the account"
            ) from exc
        latest = self._guard(lambda: self._w3.eth.get_block("latest"), "read block")
        base_fee = int(latest.get("baseFeePerGas", 0))
        suggested = int(self._guard(lambda: self._w3.eth.max_priority_fee, "read tip"))
        fees = plan_fees(
            self._fees,
            base_fee,
            suggested,
            estimate,
            None
            if replacing is None
            else Fees(
                gas_limit=replacing.gas_limit,
                max_fee_per_gas=replacing.max_fee_per_gas,
                max_priority_fee_per_gas=replacing.max_priority_fee_per_gas,
            ),
        )
        balance = self.balance()
        if balance < fees.max_cost:
            raise InsufficientFunds(
                f"anchoring account {sender} holds {balance} wei but the anchor may cost up to "
                f"{fees.max_cost} wei (gas limit {fees.gas_limit} × max fee "
                f"{fees.max_fee_per_gas} wei); fund the account"
            )
        params: TxParams = {
            "from": sender,
            "nonce": Nonce(nonce),
            "chainId": self.chain_id,
            "gas": fees.gas_limit,
            "maxFeePerGas": Wei(fees.max_fee_per_gas),
            "maxPriorityFeePerGas": Wei(fees.max_priority_fee_per_gas),
        }
        tx = self._guard(lambda: call.build_transaction(params), "build transaction")
        signed = self._account.sign_transaction(tx)
        return SentTx(
            chain_id=self.chain_id,
            contract=self.contract,
            sender=sender,
            tx_hash=_hex(signed.hash),
            nonce=nonce,
            raw=bytes(signed.raw_transaction),
            gas_limit=fees.gas_limit,
            max_fee_per_gas=fees.max_fee_per_gas,
            max_priority_fee_per_gas=fees.max_priority_fee_per_gas,
        )

    def broadcast(self, tx: SentTx) -> Broadcast:
        """Send the signed transaction; an already-known or used nonce is not an error."""
        try:
            self._guard(lambda: self._w3.eth.send_raw_transaction(tx.raw), "broadcast")
        except (ChainError, EthValidationError) as exc:
            # eth-tester validates the nonce itself and raises eth_utils' ValidationError.
            text = str(exc).lower()
            if any(marker in text for marker in _KNOWN):
                return "known"
            if any(marker in text for marker in _NONCE_USED):
                return "nonce_used"
            raise
        return "accepted"

    def receipt(self, tx_hash: str, wait_s: float) -> TxOutcome | None:
        """The receipt of ``tx_hash``, waiting up to ``wait_s``; None if not mined."""

        def fetch() -> Any:
            try:
                if wait_s > 0:
                    return self._w3.eth.wait_for_transaction_receipt(
                        HexStr(tx_hash), timeout=wait_s, poll_latency=0.005
                    )
                return self._w3.eth.get_transaction_receipt(HexStr(tx_hash))
            except TransactionNotFound:
                return None

        try:
            receipt = self._guard(fetch, "read receipt")
        except ChainError as exc:
            if "no receipt within" in str(exc) or isinstance(exc.__cause__, Web3RPCError):
                return None
            raise
        if receipt is None or receipt.get("blockNumber") is None:
            return None
        return TxOutcome(
            tx_hash=tx_hash,
            succeeded=receipt["status"] == 1,
            block_number=int(receipt["blockNumber"]),
            block_hash=_hex(receipt["blockHash"]),
        )


def fund_account(w3: Web3, address: str, wei: int) -> None:
    """Send ``wei`` from the node's first unlocked account (embedded EVM / dev nodes)."""
    source = w3.eth.accounts[0]
    tx_hash = w3.eth.send_transaction(
        {"from": source, "to": Web3.to_checksum_address(address), "value": Wei(wei)}
    )
    w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.005)
