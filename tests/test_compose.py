"""docker-compose.yml is valid against the Compose Specification schema.

No Docker engine runs here, so the file is checked against the official JSON
Schema instead, plus the references it makes into the repository.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_compose_file_matches_the_spec() -> None:
    schema = json.loads((ROOT / "tests/data/compose/compose-spec.json").read_text())
    # The spec names its draft as ".../draft-07/schema" (no "#"), which jsonschema
    # does not recognise; say the draft explicitly.
    jsonschema.Draft7Validator(schema).validate(_compose())


def test_invalid_compose_is_rejected_by_the_same_check() -> None:
    schema = json.loads((ROOT / "tests/data/compose/compose-spec.json").read_text())
    broken = _compose()
    broken["services"]["hub"]["ports"] = "8000"  # must be a list
    validator = jsonschema.Draft7Validator(schema)
    assert list(validator.iter_errors(broken))


def test_every_bind_mount_exists_in_the_repository() -> None:
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source} is missing"
