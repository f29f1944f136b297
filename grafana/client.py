"""The :class:`~grafana.publish.GrafanaApi` port over ``grafana-client``.

``grafana-client`` is an optional extra (``pip install 'tracehub[grafana]'``):
it brings ``niquests`` and ``urllib3-future``, which by default overwrite the
``urllib3`` every other package uses; install it with ``URLLIB3_NO_OVERRIDE=1
pip install --no-binary urllib3-future ...`` to keep both (docs/grafana.md).
Its exceptions are translated here into :mod:`grafana.errors`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from grafana.errors import GrafanaUnavailable, PublishRejected

T = TypeVar("T")


def _missing_extra() -> ImportError:
    return ImportError(
        "tracehub grafana publish needs grafana-client: "
        "URLLIB3_NO_OVERRIDE=1 pip install --no-binary urllib3-future 'tracehub[grafana]'"
    )


class GrafanaClientApi:
    """Grafana's HTTP API through ``grafana_client.GrafanaApi`` (token auth)."""

    def __init__(self, url: str, token: str | None, timeout: float = 10.0) -> None:
        try:
            from grafana_client.api import GrafanaApi
        except ImportError as exc:  # optional extra
            raise _missing_extra() from exc
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"url: {url!r} is not an http(s) URL such as http://localhost:3000")
        # grafana-client appends "api" to the path as given: a sub-path needs its slash.
        path = parts.path if parts.path.endswith("/") or not parts.path else parts.path + "/"
        self.url = urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
        self._api = GrafanaApi.from_url(self.url, credential=token, timeout=timeout)

    def close(self) -> None:
        """Close the pooled connections (an unclosed session warns when collected)."""
        self._api.client.s.close()

    def __enter__(self) -> GrafanaClientApi:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        from grafana_client.client import (
            GrafanaClientError,
            GrafanaException,
            GrafanaServerError,
            GrafanaTimeoutError,
        )
        from niquests.exceptions import RequestException

        try:
            yield
        except GrafanaClientError as exc:
            raise PublishRejected(exc.status_code, what, str(exc.message)) from exc
        except (GrafanaServerError, GrafanaTimeoutError) as exc:
            raise GrafanaUnavailable(f"Grafana at {self.url} failed {what}: {exc}") from exc
        except (GrafanaException, RequestException) as exc:
            raise GrafanaUnavailable(
                f"cannot reach Grafana at {self.url} ({what}): {exc}; check --url"
            ) from exc

    def _get(self, what: str, call: Callable[[], T]) -> T | None:
        from grafana_client.client import GrafanaClientError

        try:
            with self._translated(what):
                return call()
        except PublishRejected as exc:
            if isinstance(exc.__cause__, GrafanaClientError) and exc.status == 404:
                return None
            raise

    def get_folder(self, uid: str) -> dict[str, Any] | None:
        return self._get(f"reading folder {uid}", lambda: self._api.folder.get_folder(uid))

    def create_folder(self, uid: str, title: str) -> None:
        with self._translated(f"creating folder {uid}"):
            self._api.folder.create_folder(title, uid=uid)

    def get_dashboard(self, uid: str) -> dict[str, Any] | None:
        return self._get(f"reading dashboard {uid}", lambda: self._api.dashboard.get_dashboard(uid))

    def save_dashboard(self, dashboard: dict[str, Any], folder_uid: str, message: str) -> None:
        body = {
            "dashboard": dashboard,
            "folderUid": folder_uid,
            "overwrite": True,
            "message": message,
        }
        with self._translated(f"saving dashboard {dashboard['uid']}"):
            self._api.dashboard.update_dashboard(body)

    def get_alert_rule(self, uid: str) -> dict[str, Any] | None:
        return self._get(
            f"reading alert rule {uid}",
            lambda: self._api.alertingprovisioning.get_alertrule(uid),
        )

    def create_alert_rule(self, rule: dict[str, Any]) -> None:
        with self._translated(f"creating alert rule {rule['uid']}"):
            self._api.alertingprovisioning.create_alertrule(rule)

    def update_alert_rule(self, uid: str, rule: dict[str, Any]) -> None:
        with self._translated(f"updating alert rule {uid}"):
            self._api.alertingprovisioning.update_alertrule(uid, rule)

    def get_rule_group(self, folder_uid: str, group: str) -> dict[str, Any] | None:
        return self._get(
            f"reading rule group {group}",
            lambda: self._api.alertingprovisioning.get_rule_group(folder_uid, group),
        )

    def update_rule_group(self, folder_uid: str, group: str, body: dict[str, Any]) -> None:
        with self._translated(f"updating rule group {group}"):
            self._api.alertingprovisioning.update_rule_group(folder_uid, group, body)

    def get_contact_points(self, name: str) -> list[dict[str, Any]]:
        with self._translated(f"reading contact point {name}"):
            points: list[dict[str, Any]] = self._api.alertingprovisioning.get_contactpoints(name)
        return points

    def create_contact_point(self, point: dict[str, Any]) -> None:
        with self._translated(f"creating contact point {point['uid']}"):
            self._api.alertingprovisioning.create_contactpoint(point)

    def update_contact_point(self, uid: str, point: dict[str, Any]) -> None:
        with self._translated(f"updating contact point {uid}"):
            self._api.alertingprovisioning.update_contactpoint(uid, point)
