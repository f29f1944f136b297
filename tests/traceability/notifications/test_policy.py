"""The ``notify:`` section of the rule file: valid files, errors that name the line, the
"three people" warning, and the no-file default."""

from __future__ import annotations

from pathlib import Path

import pytest

from traceability.errors import RuleFileError
from traceability.notifications.policy import (
    NotifyPolicy,
    default_policy,
    load_policy,
    policy_from,
)

GOOD = """\
rules: []
notify:
  recipients:
    - {name: Ana, email: ana@example.com, phone: "+34 600 000 001"}
    - {name: Ben, phone: "+34600000002"}
    - {name: Chen, email: chen@example.com, phone: "+34600000003", webhook: true}
  sites:
    default:
      steps:
        - {after_min: 0, recipients: [Ana]}
        - {after_min: 15, recipients: [Ben, Chen]}
    cold-store-2:
      steps:
        - {after_min: 0, recipients: [Chen]}
  renotify_min: 45
  max_per_hour: 3
  severities: [critical]
"""


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alarms.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_section(tmp_path: Path) -> None:
    policy = load_policy(_file(tmp_path, GOOD))
    assert policy is not None
    assert policy.renotify_min == 45
    assert policy.severities == ("critical",)
    default = policy.escalation_for("demo")
    assert default is not None
    assert [s.recipients for s in default.steps] == [("Ana",), ("Ben", "Chen")]
    own = policy.escalation_for("cold-store-2")
    assert own is not None
    assert own.steps[0].recipients == ("Chen",)
    assert policy.recipient("Ana").addresses() == [
        ("email", "ana@example.com"),
        ("sms", "+34600000001"),
    ]
    assert policy.recipient("Chen").addresses()[0] == ("webhook", "Chen")
    assert policy.warnings() == [
        "notify.sites.cold-store-2: 1 people reachable by e-mail or phone, 1 by SMS; EU GDP, "
        "WHO TRS 961 Annex 9 and China GSP ask for alarms to reach at least 3 named people "
        "by SMS"
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("[Ben, Chen]", "[Ben, Dana]"),
            ":11: notify.sites.default.steps[1].recipients[1]: 'Dana'",
        ),
        (("after_min: 15", "after_min: -1"), ":11: notify.sites.default.steps[1].after_min: "),
        (("renotify_min: 45", "renotify_mins: 45"), ":15: notify.renotify_mins: Extra inputs"),
        (("[critical]", "[urgent]"), ":17: notify.severities[0]: Input should be"),
        (('{name: Ben, phone: "+34600000002"}', "{name: Ben}"), ":5: notify.recipients[1]: "),
        (('phone: "+34600000002"', "phone: call-me"), ":5: notify.recipients[1].phone: "),
        (("after_min: 15", "after_min: 0"), ":9: notify.sites.default.steps: "),
    ],
)
def test_errors_name_the_file_line_and_field(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    path = _file(tmp_path, GOOD.replace(*change))
    with pytest.raises(RuleFileError) as caught:
        load_policy(path)
    assert f"{path}{expected}" in str(caught.value)


def test_names_are_checked_without_a_file_too() -> None:
    with pytest.raises(ValueError, match=r"sites\.x\.steps\[0\]\.recipients\[0\]: 'Nobody'"):
        NotifyPolicy.model_validate(
            {"sites": {"x": {"steps": [{"after_min": 0, "recipients": ["Nobody"]}]}}}
        )
    with pytest.raises(ValueError, match="given twice"):
        NotifyPolicy.model_validate({"recipients": [{"name": "A", "webhook": True}] * 2})


def test_without_a_notify_section_the_settings_destinations_are_used(tmp_path: Path) -> None:
    assert load_policy(_file(tmp_path, "rules: []\n")) is None
    policy = policy_from(_file(tmp_path, "rules: []\n"), smtp_to="ops@example.com", webhook=True)
    assert policy == default_policy(email="ops@example.com", webhook=True)
    escalation = policy.escalation_for("any-site")
    assert escalation is not None
    (on_call,) = policy.recipients
    assert on_call.addresses() == [("webhook", "on-call"), ("email", "ops@example.com")]
    assert policy_from(None) == NotifyPolicy()  # nothing configured: nobody to tell
    assert "nobody is told" in NotifyPolicy().warnings("demo")[0]


def test_fewer_than_three_people_is_a_warning_not_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    policy = policy_from(None, smtp_to="ops@example.com", sms_to="+34600000009")
    assert policy.escalation_for("demo") is not None
    assert "1 people reachable by e-mail or phone, 1 by SMS" in caplog.text


def test_the_shipped_example_is_valid_and_reaches_three_people() -> None:
    example = Path(__file__).resolve().parents[3] / "deploy" / "alarms.example.yaml"
    policy = load_policy(example)
    assert policy is not None
    assert policy.warnings("demo") == []
    escalation = policy.escalation_for("demo")
    assert escalation is not None
    assert len(escalation.steps) == 3
