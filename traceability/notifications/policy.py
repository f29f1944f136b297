"""Who is told, by which channel, and when: the ``notify:`` section of the rule file.

```yaml
notify:
  recipients:
    - {name: Ana Ortiz, email: ana@example.com, phone: "+34600000001"}
    - {name: Ben Okafor, phone: "+34600000002"}
    - {name: Chen Li, email: chen@example.com, webhook: true}
  sites:
    default:                 # any site without its own escalation
      steps:
        - {after_min: 0, recipients: [Ana Ortiz]}
        - {after_min: 15, recipients: [Ben Okafor]}
        - {after_min: 30, recipients: [Chen Li, Ben Okafor]}
  renotify_min: 30           # re-send the last step until acknowledged (null: never)
  max_per_hour: 6            # alerts of one incident per recipient and channel; more wait
  severities: [warning, critical]
```

A recipient is reached on every channel they have an address for and the hub has
configured (``email`` over SMTP, ``phone`` by SMS, ``webhook: true`` the hub's webhook
with their name in the body). Steps run at ``after_min`` minutes after the incident opened
unless it is acknowledged first. EU GDP, WHO TRS 961 Annex 9 and China GSP ask for alarms
to reach at least three named people: fewer is a warning at start (``warnings``), not an
error, so a small site can still run.

Without a rule file (or without a ``notify:`` section) the policy is ``default_policy``:
one recipient, ``on-call``, at the single destinations of the settings
(TRACEHUB_ALERTS_SMTP_TO, TRACEHUB_ALERTS_SMS_TO, the webhook when
TRACEHUB_ALERTS_WEBHOOK_URL is set), notified at once and re-notified every 30 minutes.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from notify.channel import ChannelKind
from traceability.alarms.model import Severity
from traceability.alarms.rulefile import LoadedYaml, load_yaml, validate_section

log = logging.getLogger(__name__)
SECTION = "notify"
DEFAULT_SITE = "default"
MIN_PEOPLE = 3  # EU GDP / WHO TRS 961 Annex 9 / China GSP
ON_CALL = "on-call"


class Recipient(BaseModel):
    """A person (or a system reached by webhook) and where to reach them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    email: str | None = Field(default=None, pattern=r"^[^@\s<>,]+@[^@\s<>,]+$")
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9 ]{4,19}$")
    webhook: bool = False

    @model_validator(mode="after")
    def _somewhere(self) -> Recipient:
        if self.email is None and self.phone is None and not self.webhook:
            raise ValueError(f"{self.name}: give an email, a phone or webhook: true")
        return self

    @property
    def person(self) -> bool:
        """Reachable as a person: by e-mail or phone."""
        return self.email is not None or self.phone is not None

    def addresses(self) -> list[tuple[ChannelKind, str]]:
        """(channel, address) for every way to reach them; the webhook's is the name."""
        out: list[tuple[ChannelKind, str]] = []
        if self.webhook:
            out.append(("webhook", self.name))
        if self.email is not None:
            out.append(("email", self.email))
        if self.phone is not None:
            out.append(("sms", self.phone.replace(" ", "")))
        return out


class Step(BaseModel):
    """Who is told ``after_min`` minutes after the incident opened, if still unacknowledged."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    after_min: float = Field(ge=0)
    recipients: tuple[str, ...] = Field(min_length=1)


class Escalation(BaseModel):
    """The steps of one site, earliest first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: tuple[Step, ...] = Field(min_length=1)

    @field_validator("steps")
    @classmethod
    def _ascending(cls, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        for before, after in itertools.pairwise(steps):
            if after.after_min <= before.after_min:
                raise ValueError(
                    f"after_min must grow from step to step ({before.after_min:g} then "
                    f"{after.after_min:g})"
                )
        return steps


class NotifyPolicy(BaseModel):
    """The whole ``notify:`` section."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recipients: tuple[Recipient, ...] = ()
    sites: dict[str, Escalation] = Field(default_factory=dict)
    renotify_min: float | None = Field(default=30.0, gt=0)
    max_per_hour: int = Field(default=6, ge=1)
    severities: tuple[Severity, ...] = ("warning", "critical")

    @model_validator(mode="after")
    def _names_resolve(self) -> NotifyPolicy:
        names = [r.name for r in self.recipients]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"recipients: {', '.join(twice)} given twice; names must be unique")
        problem = next(iter(unknown_names(self.model_dump(mode="python"))), None)
        if problem is not None:
            raise ValueError(f"{_dotted(problem[0])}: {problem[1]}")
        return self

    def recipient(self, name: str) -> Recipient:
        return next(r for r in self.recipients if r.name == name)

    def escalation_for(self, site: str | None) -> Escalation | None:
        """The site's own escalation, else ``default``, else None (nobody to tell)."""
        if site is not None and site in self.sites:
            return self.sites[site]
        return self.sites.get(DEFAULT_SITE)

    def warnings(self, site: str | None = None) -> list[str]:
        """What is legal but short of the GDP guidance (or of any use), in plain English."""
        out = []
        if site is not None and self.escalation_for(site) is None:
            out.append(
                f"notify: site {site!r} has no escalation and there is no 'default': "
                "nobody is told about its incidents"
            )
        for name, escalation in sorted(self.sites.items()):
            people = {n for step in escalation.steps for n in step.recipients}
            reachable = sorted(n for n in people if self.recipient(n).person)
            by_sms = sorted(n for n in people if self.recipient(n).phone is not None)
            if len(reachable) < MIN_PEOPLE or len(by_sms) < MIN_PEOPLE:
                out.append(
                    f"notify.sites.{name}: {len(reachable)} people reachable by e-mail or "
                    f"phone, {len(by_sms)} by SMS; EU GDP, WHO TRS 961 Annex 9 and China GSP "
                    f"ask for alarms to reach at least {MIN_PEOPLE} named people by SMS"
                )
        return out


def unknown_names(section: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """(path under ``notify``, message) of every step recipient that is not among the
    recipients; tolerant of a malformed section (the model reports that)."""
    if not isinstance(section, dict):
        return []
    known = {r.get("name") for r in section.get("recipients") or () if isinstance(r, dict)}
    out: list[tuple[tuple[str | int, ...], str]] = []
    sites = section.get("sites")
    for site, escalation in (sites or {}).items() if isinstance(sites, dict) else ():
        steps = escalation.get("steps") if isinstance(escalation, dict) else None
        for i, step in enumerate(steps if isinstance(steps, list | tuple) else ()):
            names = step.get("recipients") if isinstance(step, dict) else None
            for j, name in enumerate(names if isinstance(names, list | tuple) else ()):
                if name not in known:
                    out.append(
                        (
                            ("sites", site, "steps", i, "recipients", j),
                            f"{name!r} is not among notify.recipients; add them there",
                        )
                    )
    return out


def load_policy(path: str | Path) -> NotifyPolicy | None:
    """The ``notify:`` section of the rule file at ``path`` (None: the file has none).
    ``traceability.errors.RuleFileError`` names the line of each problem."""
    return policy_of(load_yaml(path))


def policy_of(loaded: LoadedYaml) -> NotifyPolicy | None:
    data = loaded.data if isinstance(loaded.data, dict) else {}
    if data.get(SECTION) is None:
        return None
    names = unknown_names(data[SECTION])
    if names:  # found before the model so each names its own line
        raise loaded.error((SECTION, *names[0][0]), names[0][1])
    return validate_section(NotifyPolicy, loaded, SECTION)


def default_policy(
    email: str | None = None, phone: str | None = None, webhook: bool = False
) -> NotifyPolicy:
    """The no-file setup: everything to the settings' single destinations."""
    if email is None and phone is None and not webhook:
        return NotifyPolicy()
    on_call = Recipient(name=ON_CALL, email=email, phone=phone, webhook=webhook)
    step = Step(after_min=0, recipients=(ON_CALL,))
    return NotifyPolicy(recipients=(on_call,), sites={DEFAULT_SITE: Escalation(steps=(step,))})


def policy_from(
    alarms_file: str | Path | None,
    *,
    smtp_to: str | None = None,
    sms_to: str | None = None,
    webhook: bool = False,
    site: str | None = None,
) -> NotifyPolicy:
    """The policy the hub runs: the rule file's ``notify:`` section when there is one,
    else ``default_policy`` from the settings; its warnings are logged."""
    policy = load_policy(alarms_file) if alarms_file is not None else None
    if policy is None:
        policy = default_policy(email=smtp_to, phone=sms_to, webhook=webhook)
    for warning in policy.warnings(site):
        log.warning("%s", warning)
    return policy


def _dotted(where: tuple[str | int, ...]) -> str:
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
