"""Push the dashboards, alert rules and contact point to a running Grafana, idempotently.

Each resource is read first and written only when it differs from what the
code makes, so a second publish changes nothing (and says so). Dashboards are
saved with ``overwrite`` into the ``tracehub`` folder; alert rules and the
contact point go through the alerting provisioning API and stay locked in the
UI (managed as code). The Grafana side is the :class:`GrafanaApi` port;
``grafana.client`` adapts ``grafana-client`` to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from grafana import alerts
from grafana.generate import dashboards
from grafana.influxql import DATASOURCE_TYPE, DATASOURCE_UID
from grafana.policy import Policy

MESSAGE = "published by tracehub grafana publish"
# Keys Grafana adds to what it stores; not ours to compare.
_DASHBOARD_SERVER_KEYS = {"id", "version"}


class GrafanaApi(Protocol):
    """The Grafana HTTP API calls publishing needs; ``get_*`` return None on 404."""

    def get_folder(self, uid: str) -> dict[str, Any] | None: ...
    def create_folder(self, uid: str, title: str) -> None: ...
    def get_dashboard(self, uid: str) -> dict[str, Any] | None: ...
    def save_dashboard(self, dashboard: dict[str, Any], folder_uid: str, message: str) -> None: ...
    def get_alert_rule(self, uid: str) -> dict[str, Any] | None: ...
    def create_alert_rule(self, rule: dict[str, Any]) -> None: ...
    def update_alert_rule(self, uid: str, rule: dict[str, Any]) -> None: ...
    def get_rule_group(self, folder_uid: str, group: str) -> dict[str, Any] | None: ...
    def update_rule_group(self, folder_uid: str, group: str, body: dict[str, Any]) -> None: ...
    def get_contact_points(self, name: str) -> list[dict[str, Any]]: ...
    def create_contact_point(self, point: dict[str, Any]) -> None: ...
    def update_contact_point(self, uid: str, point: dict[str, Any]) -> None: ...


class PublishReport(BaseModel):
    """What a publish did, resource by resource (``kind:uid``)."""

    model_config = ConfigDict(frozen=True)

    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def with_datasource(value: Any, uid: str) -> Any:
    """``value`` with every reference to the provisioned InfluxDB pointed at ``uid``."""
    if isinstance(value, dict):
        out = {k: with_datasource(v, uid) for k, v in value.items()}
        if out.get("type") == DATASOURCE_TYPE and out.get("uid") == DATASOURCE_UID:
            out["uid"] = uid
        if out.get("datasourceUid") == DATASOURCE_UID:
            out["datasourceUid"] = uid
        return out
    if isinstance(value, list):
        return [with_datasource(v, uid) for v in value]
    return value


def _differs(stored: dict[str, Any], desired: dict[str, Any]) -> bool:
    """Whether any key we send has another value in what Grafana stores."""
    return any(stored.get(key) != value for key, value in desired.items())


class Publisher:
    """Publishes tracehub's Grafana resources through a :class:`GrafanaApi`."""

    def __init__(
        self,
        api: GrafanaApi,
        policy: Policy | None = None,
        *,
        datasource_uid: str = DATASOURCE_UID,
        webhook_url: str | None = None,
        temperature: Sequence[alerts.TemperatureAlert] | None = None,
    ) -> None:
        """``temperature``: the temperature alerts (the hub's alarm rules translated;
        None: the policy's default band)."""
        self.api = api
        self.policy = policy or Policy()
        self.temperature = None if temperature is None else tuple(temperature)
        self.datasource_uid = datasource_uid
        self.webhook_url = webhook_url
        self._created: list[str] = []
        self._updated: list[str] = []
        self._unchanged: list[str] = []

    def publish(self) -> PublishReport:
        self._created, self._updated, self._unchanged = [], [], []
        self._folder()
        for uid, board in dashboards(self.policy).items():
            self._dashboard(uid, with_datasource(board, self.datasource_uid))
        self._contact_point()
        for rule in alerts.rules(self.policy, self.temperature):
            self._rule(with_datasource(rule, self.datasource_uid))
        self._group_interval()
        return PublishReport(
            created=tuple(self._created),
            updated=tuple(self._updated),
            unchanged=tuple(self._unchanged),
        )

    def _note(self, outcome: list[str], kind: str, uid: str) -> None:
        outcome.append(f"{kind}:{uid}")

    def _folder(self) -> None:
        if self.api.get_folder(alerts.FOLDER_UID) is None:
            self.api.create_folder(alerts.FOLDER_UID, alerts.FOLDER_TITLE)
            self._note(self._created, "folder", alerts.FOLDER_UID)
        else:
            self._note(self._unchanged, "folder", alerts.FOLDER_UID)

    def _dashboard(self, uid: str, board: dict[str, Any]) -> None:
        stored = self.api.get_dashboard(uid)
        if stored is not None:
            current = {
                k: v for k, v in stored["dashboard"].items() if k not in _DASHBOARD_SERVER_KEYS
            }
            in_folder = stored.get("meta", {}).get("folderUid") == alerts.FOLDER_UID
            if current == board and in_folder:
                self._note(self._unchanged, "dashboard", uid)
                return
        self.api.save_dashboard(board, alerts.FOLDER_UID, MESSAGE)
        self._note(self._created if stored is None else self._updated, "dashboard", uid)

    def _contact_point(self) -> None:
        desired = alerts.contact_point()
        existing = [
            p
            for p in self.api.get_contact_points(alerts.CONTACT_POINT)
            if p.get("uid") == desired["uid"]
        ]
        if self.webhook_url is None:
            if not existing:
                raise ValueError(
                    "webhook_url: the Grafana has no tracehub contact point yet; give "
                    "--webhook-url (where alert notifications are POSTed)"
                )
            self._note(self._unchanged, "contact-point", desired["uid"])
            return
        desired["settings"] = {**desired["settings"], "url": self.webhook_url}
        if not existing:
            self.api.create_contact_point(desired)
            self._note(self._created, "contact-point", desired["uid"])
        elif _differs(existing[0], desired):
            self.api.update_contact_point(desired["uid"], desired)
            self._note(self._updated, "contact-point", desired["uid"])
        else:
            self._note(self._unchanged, "contact-point", desired["uid"])

    def _rule(self, rule: dict[str, Any]) -> None:
        uid = rule["uid"]
        stored = self.api.get_alert_rule(uid)
        if stored is None:
            self.api.create_alert_rule(rule)
            self._note(self._created, "alert-rule", uid)
        elif _differs(stored, rule):
            self.api.update_alert_rule(uid, rule)
            self._note(self._updated, "alert-rule", uid)
        else:
            self._note(self._unchanged, "alert-rule", uid)

    def _group_interval(self) -> None:
        # Rules created one by one land in a group with Grafana's default interval.
        group = self.api.get_rule_group(alerts.FOLDER_UID, alerts.GROUP)
        if group is None or group.get("interval") == alerts.GROUP_INTERVAL_S:
            self._note(self._unchanged, "rule-group", alerts.GROUP)
            return
        self.api.update_rule_group(
            alerts.FOLDER_UID,
            alerts.GROUP,
            {**group, "interval": alerts.GROUP_INTERVAL_S},
        )
        self._note(self._updated, "rule-group", alerts.GROUP)
