"""MQTT source (paho-mqtt 2, MQTTv5): persistent session, manual acknowledgement.

Threading: paho's network loop runs in its own thread (``loop_start``) and calls
``on_message`` there. That callback only enqueues the message; one worker thread
handles messages in arrival order and acknowledges each (``client.ack``, which
paho allows from another thread: it queues the PUBACK under paho's own lock) only
after the handler returned. Keeping the handler off paho's thread keeps keepalives
and PUBACKs flowing while a handler waits for InfluxDB.

Transient errors: the worker retries the same message with capped exponential
backoff until it succeeds or the source stops; later messages wait behind it. The
queue cannot grow without bound: CONNECT carries Receive Maximum, so the broker
sends at most that many unacknowledged messages and keeps the rest in our
persistent session (clean_start=False + Session Expiry Interval). A message that
was never acknowledged (stop, crash, handler bug) is redelivered by the broker after
the next connect; the handlers are idempotent. A durable spool replaces this later.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.errors import SourceError, TransientError
from sensors.topics import RFID_FILTER, TEMPERATURE_FILTER

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes], object]


@dataclass(frozen=True, slots=True)
class _Delivery:
    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int  # which connection delivered it: mids are only valid on that one


class MqttSource:
    """Subscribes the tracehub topics at QoS 1 and feeds ``handler`` one message at a time."""

    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        handler: Handler,
        *,
        keepalive_s: int = 30,
        session_expiry_s: int = 86_400,
        receive_maximum: int = 100,
        retry_initial_s: float = 0.05,
        retry_max_s: float = 2.0,
        topics: tuple[str, ...] = (TEMPERATURE_FILTER, RFID_FILTER),
    ) -> None:
        if not client_id:
            raise SourceError("client_id must be set: a persistent session needs a stable id")
        if not 1 <= receive_maximum <= 65_535:
            raise SourceError(f"receive_maximum must be 1..65535, got {receive_maximum}")
        self._host = host
        self._port = port
        self._handler = handler
        self._keepalive_s = keepalive_s
        self._session_expiry_s = session_expiry_s
        self._receive_maximum = receive_maximum
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._topics = topics
        self._queue: queue.Queue[_Delivery | None] = queue.Queue()
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._generation = 0
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self.acked = 0
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
            log.warning("MQTT disconnected (%s); paho reconnects", reason)

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            generation = self._generation
        self._queue.put(
            _Delivery(message.topic, bytes(message.payload), message.mid, message.qos, generation)
        )

    # --- worker thread -------------------------------------------------------------
    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            if delivery is None or self._stop.is_set():
                return
            if self._handle(delivery):
                self._ack(delivery)

    def _handle(self, delivery: _Delivery) -> bool:
        delay = self._retry_initial_s
        while not self._stop.is_set():
            try:
                self._handler(delivery.topic, delivery.payload)
                return True
            except TransientError as exc:
                log.warning(
                    "transient failure on %s, retry in %.2fs: %s", delivery.topic, delay, exc
                )
                if self._stop.wait(delay):
                    return False
                delay = min(delay * 2, self._retry_max_s)
            except Exception:
                # A handler bug: do not ack, so the broker redelivers after the next
                # connect, and do not stop the other messages.
                log.exception("handler failed on %s; left unacknowledged", delivery.topic)
                return False
        return False

    def _ack(self, delivery: _Delivery) -> None:
        if delivery.qos == 0:
            return
        with self._lock:
            current = delivery.generation == self._generation
        # After a reconnect the broker redelivers what was unacknowledged under the same
        # packet ids; acking an old mid could ack a different new message.
        if current:
            self._client.ack(delivery.mid, delivery.qos)
            self.acked += 1

    # --- control -------------------------------------------------------------------
    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self._session_expiry_s
        props.ReceiveMaximum = self._receive_maximum
        self._stop.clear()
        self._queue = queue.Queue()  # a fresh one: a restart must not see the old stop marker
        self._worker = threading.Thread(target=self._run, name="gateway-mqtt-worker", daemon=True)
        self._worker.start()
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
        """Messages received but not yet taken by the worker (at most receive_maximum)."""
        return self._queue.qsize()

    def wait_ready(self, timeout: float) -> bool:
        """True once connected and subscribed."""
        return self._subscribed.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop handling; unacknowledged messages stay in the broker's session."""
        self._stop.set()
        self._queue.put(None)
        if self._worker is not None:
            self._worker.join(timeout)
        self._client.disconnect()
        self._client.loop_stop()
