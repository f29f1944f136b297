"""MQTT source (paho-mqtt 2, MQTTv5): persistent session, manual acknowledgement after the
message is durably spooled.

Threading: paho's network loop runs in its own thread (``loop_start``) and calls
``on_message`` there. That callback only enqueues the message; one spooler thread
takes what has queued up (up to ``max_batch``), appends it to the spool in one
transaction (group commit: the busier the broker, the bigger the batch) and only
then acknowledges each message (``client.ack``, which paho allows from another
thread: it queues the PUBACK under paho's own lock). Keeping the disk off paho's
thread keeps keepalives flowing while a commit waits for fsync.

The spooler runs under the supervisor (component ``gateway.spooler``): a spool outage
(``SpoolUnavailable``) is retried in place and reported (not ready until a batch goes
through); any other error ends the loop, which the supervisor logs and restarts with
backoff. A restart is safe because the batch in hand is kept with how far it got:
not yet spooled, it is spooled first; spooled, only its unacknowledged messages are
acknowledged (each once: acking a packet id twice could ack a newer message that
reuses it). So nothing taken off the queue is lost or spooled twice, and the broker's
Receive Maximum window is not leaked by messages nobody will ever acknowledge.

The queue cannot grow without bound: CONNECT carries Receive Maximum, so the broker
sends at most that many unacknowledged messages and keeps the rest in our
persistent session (clean_start=False + Session Expiry Interval). A message that
was never acknowledged (crash, spool full, disk error) is redelivered after the next
connect; what follows the spool is idempotent. With ``share_group`` the
subscriptions are MQTT 5 shared subscriptions (``$share/{group}/...``): replicas
with the same group split the messages between them.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.errors import SourceError, TransientError
from gateway.spool import Incoming
from sensors.agv import AGV_CONNECTION_FILTER, AGV_STATE_FILTER
from sensors.credentials import MqttAuth, apply_auth
from sensors.errors import CredentialsError
from sensors.topics import ROOT
from supervision.supervisor import Component, Supervisor

log = logging.getLogger(__name__)

# The whole tracehub/v1 tree, not just the known kinds: a device publishing on a wrong
# topic must be dead-lettered (bad_topic), not silently never read.
DEFAULT_TOPICS = (f"{ROOT}/#", AGV_STATE_FILTER, AGV_CONNECTION_FILTER)
_GROUP_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
COMPONENT = "gateway.spooler"  # its name in the supervisor's report
IDLE_S = 0.5  # an idle spooler says it is healthy this often (a restarted one recovers)


SpoolAppend = Callable[[Sequence[Incoming], threading.Event], bool]


@dataclass(frozen=True, slots=True)
class _Delivery:
    incoming: Incoming
    mid: int
    qos: int
    generation: int  # which connection delivered it: mids are only valid on that one


class MqttSource:
    """Subscribes the tracehub and VDA 5050 topics at QoS 1 and spools what arrives."""

    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        append: SpoolAppend,
        *,
        keepalive_s: int = 30,
        session_expiry_s: int = 86_400,
        receive_maximum: int = 1000,
        retry_initial_s: float = 0.05,
        retry_max_s: float = 2.0,
        topics: tuple[str, ...] = DEFAULT_TOPICS,
        share_group: str | None = None,
        max_batch: int = 2000,
        auth: MqttAuth | None = None,
        supervisor: Supervisor | None = None,
    ) -> None:
        """``supervisor`` runs the spooler thread (the hub's, so ``/readyz`` shows it;
        unset, one of its own)."""
        if not client_id:
            raise SourceError("client_id must be set: a persistent session needs a stable id")
        if not 1 <= receive_maximum <= 65_535:
            raise SourceError(f"receive_maximum must be 1..65535, got {receive_maximum}")
        if share_group is not None and not _GROUP_RE.fullmatch(share_group):
            raise SourceError(
                f"share_group {share_group!r} is not valid: use letters, digits, '_', '-', '.'"
            )
        self._host = host
        self._port = port
        self._append = append
        self._keepalive_s = keepalive_s
        self._session_expiry_s = session_expiry_s
        self._receive_maximum = receive_maximum
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._max_batch = max_batch
        self._topics = tuple(f"$share/{share_group}/{t}" if share_group else t for t in topics)
        self._queue: queue.Queue[_Delivery | None] = queue.Queue()
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._generation = 0
        self._lock = threading.Lock()
        self._supervisor = supervisor or Supervisor(max_backoff_s=max(retry_max_s, 0.5))
        self._spooler: Component | None = None
        # The batch taken off the queue and not yet fully acknowledged, and whether the
        # spool has it: what a restarted spooler finishes first.
        self._inflight: deque[_Delivery] = deque()
        self._inflight_spooled = False
        self.acked = 0
        self.received = 0
        self.disconnects = 0  # unexpected ones: a session taken over shows here
        self._plain = auth is None
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        self._client.reconnect_delay_set(min_delay=1, max_delay=5)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.on_disconnect = self._on_disconnect
        if auth is not None:
            # TLS + the gateway's own identity (read-only on telemetry, see gateway.devices.access).
            try:
                apply_auth(self._client, auth)
            except CredentialsError as exc:
                raise SourceError(f"gateway MQTT credentials: {exc}") from exc

    # --- paho's thread -------------------------------------------------------------
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.error("MQTT broker refused the connection: %s", reason)
            return
        with self._lock:
            self._generation += 1
        client.subscribe([(t, 1) for t in self._topics])

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, codes: Any, props: Any) -> None:
        if any(code.is_failure for code in codes):
            log.error("MQTT subscription refused: %s", codes)
            return
        self._subscribed.set()

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self._subscribed.clear()
        if not self._stop.is_set():
            with self._lock:
                self.disconnects += 1
            log.warning("MQTT disconnected (%s); paho reconnects", reason)

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        incoming = Incoming(message.topic, bytes(message.payload), time.time_ns())
        self._queue.put(_Delivery(incoming, message.mid, message.qos, self._generation))

    # --- spooler thread ------------------------------------------------------------
    def _run(self, component: Component) -> None:
        stop = component.stopping
        while not stop.is_set():
            if not self._inflight:
                batch = self._take()
                if batch is None:
                    return  # the stop marker
                if not batch:
                    component.succeeded()  # idle is healthy: nothing waits to be spooled
                    continue
                self._inflight, self._inflight_spooled = deque(batch), False
            if not self._inflight_spooled:
                if not self._spool(self._inflight, component):
                    return  # stopping: not acknowledged, the broker redelivers
                self._inflight_spooled = True
            self._ack(self._inflight)
            component.succeeded()

    def _take(self) -> list[_Delivery] | None:
        """What has queued up (up to ``max_batch``), waiting up to IDLE_S for the first;
        None at the stop marker."""
        try:
            first = self._queue.get(timeout=IDLE_S)
        except queue.Empty:
            return []
        if first is None:
            return None
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return None  # stopping: what was taken stays unacknowledged
            batch.append(item)
        return batch

    def _spool(self, batch: deque[_Delivery], component: Component) -> bool:
        """Append ``batch``; True once committed, False if stopped first. A spool outage
        is retried here (reported meanwhile); any other error is the supervisor's."""
        delay = self._retry_initial_s
        items = [d.incoming for d in batch]
        stop = component.stopping
        while not stop.is_set():
            try:
                return self._append(items, stop)
            except TransientError as exc:
                # Not acknowledged: retried here, or redelivered by the broker later.
                component.failed(exc)
                log.warning(
                    "cannot spool %d message(s), retry in %.2fs: %s", len(items), delay, exc
                )
                if stop.wait(delay):
                    return False
                delay = min(delay * 2, self._retry_max_s)
        return False

    def _ack(self, batch: deque[_Delivery]) -> None:
        """Acknowledge the spooled ``batch``, taking each delivery out of it as it is
        acknowledged (so a restart after a crash here acknowledges only the rest)."""
        with self._lock:
            generation = self._generation
        while batch:
            delivery = batch[0]
            # After a reconnect the broker redelivers what was unacknowledged under the
            # same packet ids; acking an old mid could ack a different new message.
            acking = delivery.qos > 0 and delivery.generation == generation
            if acking:
                self._client.ack(delivery.mid, delivery.qos)
            batch.popleft()
            with self._lock:  # counted as it goes: a crash mid-batch keeps them right
                self.acked += int(acking)
                self.received += 1

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Publish on the gateway's own connection (dead letters); paho queues while
        disconnected."""
        self._client.publish(topic, payload, qos=qos)

    # --- control -------------------------------------------------------------------
    def start(self) -> None:
        if self._plain:
            # Said at every start, so an opt-out is never forgotten in a log nobody reads.
            log.warning(
                "MQTT %s:%d is plain: no TLS, no authentication; anyone who reaches it can "
                "publish as any device and take over this session (TRACEHUB_MQTT_SECURITY="
                "plain). Use tls with the device registry (docs/security.md)",
                self._host,
                self._port,
            )
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self._session_expiry_s
        props.ReceiveMaximum = self._receive_maximum
        self._stop.clear()
        self._queue = queue.Queue()  # a fresh one: a restart must not see the old stop marker
        self._inflight, self._inflight_spooled = deque(), False  # unacked: redelivered
        self._spooler = self._supervisor.spawn(COMPONENT, self._run, thread_name="gateway-spooler")
        try:
            # connect_async + loop_start: paho keeps retrying until the broker is up.
            self._client.connect_async(
                self._host,
                self._port,
                keepalive=self._keepalive_s,
                clean_start=False,
                properties=props,
            )
        except (OSError, ValueError) as exc:
            raise SourceError(f"cannot connect to MQTT {self._host}:{self._port}: {exc}") from exc
        self._client.loop_start()

    @property
    def pending(self) -> int:
        """Messages received but not yet spooled (at most receive_maximum)."""
        return self._queue.qsize()

    def wait_ready(self, timeout: float) -> bool:
        """True once connected and subscribed."""
        return self._subscribed.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking messages; unacknowledged ones stay in the broker's session."""
        self._stop.set()
        if self._spooler is not None:
            self._spooler.stopping.set()  # first: the loop ends asked to, not restarted
            self._queue.put(None)
            self._spooler.stop(timeout)
        self._client.disconnect()
        self._client.loop_stop()
        # paho keeps its wake-up socket pair until the client is garbage-collected, where
        # the sockets' own finalisers may run first (ResourceWarning); loop_start makes a
        # new pair on a restart.
        self._client._reset_sockets(sockpair_only=True)
