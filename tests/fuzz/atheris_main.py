"""Coverage-guided fuzzing with atheris (optional extra ``fuzz``: ``pip install -e '.[fuzz]'``).

    python -m tests.fuzz.atheris_main decode [atheris/libFuzzer flags] [corpus dirs]
    python -m tests.fuzz.atheris_main epc -atheris_runs=100000 tests/data/sensors/fuzz/epc
    python -m tests.fuzz.atheris_main opcua -atheris_runs=100000

Without a corpus folder the repository's seed corpus is used: libFuzzer then adds the
new inputs it finds there (review them before committing). Inputs that break an
invariant are written as ``crash-*`` files: add them to the corpus with the fix, so
the hypothesis tests replay them forever.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def main(argv: list[str]) -> None:
    import atheris  # type: ignore[import-untyped]

    # Coverage feedback from our own decoders only (instrumenting everything loaded,
    # pydantic and jsonschema included, makes each run ~100x slower).
    with atheris.instrument_imports(include=["gateway", "sensors"]):
        from sensors.coldroom import QUANTITIES
        from tests.fuzz.targets import (
            DECODE_CORPUS,
            EPC_CORPUS,
            check_coldroom,
            check_decode,
            check_epc,
            split_seed,
        )

    def fuzz_decode(data: bytes) -> None:
        check_decode(*split_seed(data))

    def fuzz_epc(data: bytes) -> None:
        check_epc(data.decode("utf-8", errors="replace"))

    def fuzz_opcua(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        quantity = QUANTITIES[fdp.ConsumeIntInRange(0, len(QUANTITIES) - 1)]
        kind = fdp.ConsumeIntInRange(0, 4)
        value: Any = [
            fdp.ConsumeRegularFloat, fdp.ConsumeFloat, fdp.ConsumeBool,
            lambda: fdp.ConsumeInt(64), lambda: fdp.ConsumeUnicode(16),
        ][kind]()  # fmt: skip
        ts = datetime.fromtimestamp(fdp.ConsumeIntInRange(-(10**10), 10**11), UTC)
        check_coldroom(quantity, value, ts)

    targets: dict[str, tuple[Callable[[bytes], None], str]] = {
        "decode": (fuzz_decode, str(DECODE_CORPUS)),
        "epc": (fuzz_epc, str(EPC_CORPUS)),
        "opcua": (fuzz_opcua, ""),
    }
    if len(argv) < 2 or argv[1] not in targets:
        raise SystemExit(f"usage: python -m tests.fuzz.atheris_main {{{','.join(targets)}}} ...")
    target, corpus = targets[argv[1]]
    args = [argv[0], *argv[2:]]
    if corpus and not any(not a.startswith("-") for a in argv[2:]):
        args.append(corpus)
    atheris.Setup(args, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
