"""An anchoring worker in its own process, for the kill-mid-batch test.

Usage: python -m tests.ledger.worker_proc LEDGER_URL RPC_URL CONTRACT KEY HOLDER
Prints one line per step so the test can follow it; runs until killed.
"""

from __future__ import annotations

import sys
import time

from ledger.errors import LedgerError
from ledger.evm.contract import rpc_web3
from ledger.evm.sender import AnchorSender
from ledger.store.sqlstore import LedgerStore
from ledger.worker import AnchorWorker, BatchPolicy


def main() -> None:
    url, rpc, address, key, holder = sys.argv[1:6]
    store = LedgerStore.open(url)
    policy = BatchPolicy(lease_ttl_s=3, receipt_wait_s=0.2)
    worker = AnchorWorker(store, AnchorSender(rpc_web3(rpc), address, key), holder, policy)
    while True:
        try:
            result = worker.step(flush=True)
            state = result.in_flight.status.value if result.in_flight else "idle"
            print(f"holding={result.holding} state={state}", flush=True)
        except LedgerError as exc:
            print(f"error {exc}", flush=True)
        time.sleep(0.2)  # the worker's poll interval


if __name__ == "__main__":
    main()
