"""``tracehub compose init``: a private .env of fresh random secrets, kept on a re-run,
replaced only with --force; and everything docker-compose.yml requires is in it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account

from tests.test_compose_secrets import compose_file, interpolate, required
from tests.tracehub.conftest import MakeSettings
from tracehub.chain import connect_chain
from tracehub.cli import main
from tracehub.composeenv import NAMES, PASSWORD_BYTES, SECP256K1_N, parse, plan
from tracehub.services import Anvil
from tracehub.settings import ChainSettings


def _init(directory: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["compose", "init", "--dir", str(directory), *args])
    return result.exit_code, result.output


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets everyone read new files: the mode must not come from it."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_writes_a_private_env_of_strong_random_values(
    tmp_path: Path, open_umask: None
) -> None:
    code, out = _init(tmp_path)
    assert code == 0, out
    env_file = tmp_path / ".env"
    assert _mode(env_file) == 0o600
    values = parse(env_file.read_text())
    assert set(values) == set(NAMES)
    assert len(set(values.values())) == len(NAMES)  # no two alike
    for name, value in values.items():
        assert value not in out, f"{name} printed"
        if name != "TRACEHUB_CHAIN_PRIVATE_KEY":
            assert len(value) >= PASSWORD_BYTES * 4 // 3, name  # 256 bits of token_urlsafe
            assert value.replace("-", "").replace("_", "").isalnum()  # safe in URLs and .env
    key = values["TRACEHUB_CHAIN_PRIVATE_KEY"]
    assert 0 < int(key, 16) < SECP256K1_N
    assert Account.from_key(key).address.startswith("0x")  # a usable EVM account
    assert not list(tmp_path.glob(".env.*"))  # no temporary file left behind


def test_values_differ_between_runs(tmp_path: Path) -> None:
    assert _init(tmp_path / "a")[0] == _init(tmp_path / "b")[0] == 0
    first = parse((tmp_path / "a/.env").read_text())
    second = parse((tmp_path / "b/.env").read_text())
    assert all(first[name] != second[name] for name in NAMES)


def test_the_generated_env_defines_every_variable_compose_requires(tmp_path: Path) -> None:
    _init(tmp_path)
    env = parse((tmp_path / ".env").read_text())
    node = compose_file()
    assert set(required(node)) <= set(env)
    interpolate(node, env)  # raises on any ${NAME:?...} left undefined


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    _init(tmp_path)
    before = (tmp_path / ".env").read_bytes()
    code, out = _init(tmp_path)
    assert code == 0, out
    assert "nothing changed" in out
    assert (tmp_path / ".env").read_bytes() == before


def test_without_force_existing_values_and_other_lines_stay(tmp_path: Path) -> None:
    _init(tmp_path)
    env_file = tmp_path / ".env"
    kept = parse(env_file.read_text())
    lines = [
        ln
        for ln in env_file.read_text().splitlines()
        if not ln.startswith(("GRAFANA_SECRET_KEY=", "POSTGRES_PASSWORD="))
    ]
    lines.append("TRACEHUB_ALERTS_WEBHOOK_URL=https://hooks.example/t")
    lines.append("POSTGRES_PASSWORD=")  # empty: compose refuses it like a missing one
    env_file.write_text("\n".join(lines))  # no final newline either
    code, out = _init(tmp_path)
    assert code == 0, out
    assert "added POSTGRES_PASSWORD, GRAFANA_SECRET_KEY" in out
    now = parse(env_file.read_text())
    assert now["TRACEHUB_ALERTS_WEBHOOK_URL"] == "https://hooks.example/t"
    assert now["GRAFANA_SECRET_KEY"]
    assert now["GRAFANA_SECRET_KEY"] != kept["GRAFANA_SECRET_KEY"]
    assert now["POSTGRES_PASSWORD"]
    for name in set(NAMES) - {"GRAFANA_SECRET_KEY", "POSTGRES_PASSWORD"}:
        assert now[name] == kept[name], f"{name} was overwritten without --force"
    assert env_file.read_text().count("POSTGRES_PASSWORD=") == 1


def test_force_replaces_every_secret_and_keeps_other_lines(tmp_path: Path) -> None:
    _init(tmp_path)
    env_file = tmp_path / ".env"
    before = parse(env_file.read_text())
    with env_file.open("a") as appended:
        appended.write("TRACEHUB_ALERTS_SMTP_TO=cold@example.com\n")
    code, out = _init(tmp_path, "--force")
    assert code == 0, out
    assert "new values for" in out
    after = parse(env_file.read_text())
    assert all(after[name] != before[name] for name in NAMES)
    assert after["TRACEHUB_ALERTS_SMTP_TO"] == "cold@example.com"
    assert _mode(env_file) == 0o600


def test_a_readable_env_is_made_private(tmp_path: Path) -> None:
    _init(tmp_path)
    env_file = tmp_path / ".env"
    env_file.chmod(0o644)
    code, out = _init(tmp_path)
    assert code == 0, out
    assert _mode(env_file) == 0o600
    assert "made mode 0600" in out


def test_the_plan_is_pure_given_the_values() -> None:
    values = {name: f"v-{name.lower()}" for name in NAMES}
    first = plan(None, values=values)
    assert first == plan(None, values=values)
    assert parse(first.text) == values
    assert plan(first.text, values={}).text == first.text
    assert plan(first.text, replace=True, values={n: "x" for n in NAMES}).replaced == NAMES


def test_parse_reads_env_lines_as_compose_does() -> None:
    text = "# c\n\nA=1\nexport B = 'two'\nC=\"3\"\nbad line\nA=4\n"
    assert parse(text) == {"A": "4", "B": "two", "C": "3"}


def test_help_says_what_why_and_an_example() -> None:
    result = CliRunner().invoke(main, ["compose", "init", "--help"])
    assert result.exit_code == 0
    assert "Write .env with strong random secrets" in result.output
    assert "ships no default password" in result.output
    assert "tracehub compose init && docker compose up --build" in result.output
    assert "--force" in result.output


@pytest.mark.integration
def test_the_generated_key_anchors_on_the_compose_dev_chain(
    make_settings: MakeSettings, anvil: Anvil
) -> None:
    """The hub's chain settings from the compose file with a generated .env, the RPC URL
    moved to the fixtures' anvil: the node funds the new account and lets it anchor."""
    env = parse(plan(None).text)
    hub = interpolate(compose_file(), env)["services"]["anchor"]["environment"]
    chain = ChainSettings(
        rpc_url=anvil.url,
        dev_node=hub["TRACEHUB_CHAIN_DEV_NODE"] == "true",
        private_key=hub["TRACEHUB_CHAIN_PRIVATE_KEY"],
    )
    anchorer = connect_chain(make_settings(chain=chain)).anchorer
    assert anchorer.sender == Account.from_key(env["TRACEHUB_CHAIN_PRIVATE_KEY"]).address
    assert anchorer.balance() > 0
    assert anchorer.is_anchorer(anchorer.sender)
