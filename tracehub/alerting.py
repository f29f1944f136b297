"""The hub's cold-chain alerting, wired: alarm rules -> incidents -> notifications.

``wire_alerting`` reads the rule file once (``TRACEHUB_ALARMS_FILE``: its ``rules:`` for
the alarm engine, its ``notify:`` for who is told; an error names the line and stops the
start), and joins the parts over the hub's records, ledger and capture:

* ``AlarmLoop`` evaluates the rules every ``TRACEHUB_ALARMS_INTERVAL_S`` from InfluxDB
  and hands each raised or cleared alarm to the incidents (its state in the records:
  a restart loses none);
* ``IncidentService`` opens an incident per alarm, signs each lifecycle step into the
  incident's and the lots' ledger streams, captures the lot's disposition event, and
  tells the notifications;
* ``DeliveryLoop`` sends what the notifications' outbox holds (webhook, e-mail, SMS),
  escalating until someone acknowledges.

Building opens nothing but the InfluxDB client (no request is sent); ``start``/``stop``
run and end the two loops under the hub's supervisor.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack, closing
from dataclasses import dataclass
from datetime import UTC, datetime

from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from supervision.supervisor import Supervisor
from traceability.alarms.calibrationdue import CalibrationWatch
from traceability.alarms.engine import AlarmEngine, AlarmLoop
from traceability.alarms.lotwatch import LotWatch
from traceability.alarms.places import RecordPlaces
from traceability.alarms.readings import InfluxReadingSource
from traceability.alarms.rules import RuleSet
from traceability.alarms.tagreads import InfluxTagReadSource
from traceability.audit.port import AuditLog
from traceability.capture import CaptureService
from traceability.coldchain.budget import BudgetUse
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.custody import CustodyService
from traceability.incidents.audited import AuditedIncidentService
from traceability.incidents.service import IncidentService
from traceability.leadership import Leadership
from traceability.masterdata.calibration import signed_calibrations
from traceability.notifications.loop import DeliveryLoop
from traceability.notifications.policy import NotifyPolicy, policy_from
from traceability.notifications.service import Notifications
from traceability.records.store import RecordStore
from tracehub.settings import Settings
from tracehub.temperatures import lot_exposure


@dataclass(frozen=True)
class Alerting:
    alarms: AlarmLoop
    incidents: IncidentService
    notifications: Notifications
    delivery: DeliveryLoop

    def start(self) -> None:
        # The leader finishes the steps a killed hub signed but did not finish (not told,
        # not captured) before its first round (AlarmLoop's on_lead).
        self.delivery.start()  # an alarm re-reported at start is delivered at once
        self.alarms.start()

    def stop(self) -> None:
        self.alarms.stop()
        self.delivery.stop()


def _now() -> datetime:
    return datetime.now(UTC)


def alarm_rules(settings: Settings) -> tuple[RuleSet, NotifyPolicy]:
    """The rules and who is told, from ``TRACEHUB_ALARMS_FILE`` (or the defaults); raises
    ``RuleFileError`` naming the line. ``tracehub run`` calls it before spawning anything."""
    path = settings.alarms.file
    rules = RuleSet.load(path) if path is not None else RuleSet.default()
    alerts = settings.alerts
    policy = policy_from(
        path,
        smtp_to=alerts.smtp_to,
        sms_to=alerts.sms_to,
        webhook=alerts.webhook_url is not None,
        site=settings.hub.site,
    )
    return rules, policy


def wire_alerting(
    settings: Settings,
    store: RecordStore,
    ledger: LedgerStore,
    signer: Signer,
    capture: CaptureService,
    supervisor: Supervisor,
    renew: Callable[[], Signer] | None,
    stack: ExitStack,
    on_lot: Callable[[str, str], None] | None = None,
    *,
    audit: AuditLog,
    instance: str,
) -> Alerting:
    """The alerting parts over the hub's opened stores (raises ``RuleFileError``);
    ``on_lot(gtin, lot)`` after every signed step (the hub drops the lot's cached page);
    ``audit``: the hub's trail, which every people's step is an entry of; ``instance``: this
    process, which evaluates the rules while it holds the ``alarms`` lease (replicas wait)."""
    influx = settings.influx
    assert influx.url is not None  # Hub checks it at construction
    rules, policy = alarm_rules(settings)
    alerts = settings.alerts
    # Links in notices; unknown while the web port is still to be picked (0: tests).
    url = settings.public_url if settings.web.public_url or settings.web.port else None
    notifications = Notifications(store, policy, alerts.channels(), url=url)
    stack.callback(notifications.close)
    incidents = AuditedIncidentService(
        store,
        ledger,
        signer,
        notifier=notifications,
        dispositions=capture,
        url=url,
        renew=renew,
        on_lot=on_lot,
        audit=audit,  # every people's step is an audit entry too
    )
    source = stack.enter_context(closing(InfluxReadingSource(influx.url, influx.database)))
    places = RecordPlaces(store, CustodyService(store), _now)
    # The lot rules: each lot's budget from its exposure (InfluxDB), the RFID tag reads.
    series = stack.enter_context(InfluxTemperatureReader(influx.url, influx.database))
    exposures = lot_exposure(store, series)  # the lot page's sources

    def judge(gtin: str, lot: str) -> BudgetUse | None:
        return exposures.exposure(gtin, lot).budget

    tags = stack.enter_context(closing(InfluxTagReadSource(influx.url, influx.database)))
    lots = LotWatch(rules, places, store, judge, tags)
    # A probe due for calibration within 30 days (or overdue), from the signed records:
    # a deleted row does not silence it.
    due = CalibrationWatch(lambda: [s.calibration for s in signed_calibrations(ledger)])
    engine = AlarmEngine(rules, source, store, incidents, places, _now, lots=lots, calibrations=due)
    return Alerting(
        alarms=AlarmLoop(
            engine,
            interval_s=settings.alarms.interval_s,
            supervisor=supervisor,
            # A leader silent for a few rounds is replaced; never while it is in a round.
            leadership=Leadership(
                store, "alarms", instance, ttl_s=max(30.0, 4 * settings.alarms.interval_s)
            ),
            on_lead=incidents.resume,
        ),
        incidents=incidents,
        notifications=notifications,
        delivery=DeliveryLoop(notifications, supervisor),
    )
