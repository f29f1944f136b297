"""``tracehub grafana`` (tracehub/commands/grafana.py) end to end through click."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

try:
    import grafana_client  # noqa: F401 - the optional extra these tests exercise
except ImportError as exc:  # a clear reason instead of a bare collection error
    raise ImportError(
        "tests of tracehub grafana publish need the grafana extra: URLLIB3_NO_OVERRIDE=1 pip "
        "install -c constraints.txt --no-binary urllib3-future -e '.[dev,grafana]'"
    ) from exc
from click.testing import CliRunner

from tests.grafana.fake_grafana import FakeGrafana
from tracehub.cli import main


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    with FakeGrafana() as server:
        yield server


def test_publish_twice_second_run_changes_nothing(grafana: FakeGrafana) -> None:
    args = ["grafana", "publish", "--url", grafana.url, "--webhook-url", "http://hook.test/a"]
    env = {"TRACEHUB_GRAFANA_TOKEN": grafana.state.token}
    first = CliRunner().invoke(main, args, env=env)
    assert first.exit_code == 0, first.output
    assert "created dashboard:tracehub-coldchain" in first.output
    assert "11 created" in first.output
    second = CliRunner().invoke(main, args, env=env)
    assert second.exit_code == 0, second.output
    assert "is up to date (12 resources unchanged)" in second.output


def test_publish_with_a_bad_token_exits_2_naming_the_status(grafana: FakeGrafana) -> None:
    result = CliRunner().invoke(
        main, ["grafana", "publish", "--url", grafana.url, "--token", "nope", "--webhook-url", "x"]
    )
    assert result.exit_code == 2
    assert "HTTP 401" in result.output


def test_generate_check_passes_on_the_committed_files() -> None:
    result = CliRunner().invoke(main, ["grafana", "generate", "--check"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
