"""Retention policies and continuous queries of one database, read and applied over the v1 API.

``RetentionAdmin(client).state()`` is what InfluxDB has (``SHOW RETENTION POLICIES``,
``SHOW CONTINUOUS QUERIES``, ``SHOW SHARDS``); ``apply(plan)`` runs only the statements
that make it the plan (``CREATE`` what is missing, ``ALTER`` a policy whose duration or
DEFAULT flag differs, drop and re-create a continuous query whose text differs) and
returns them: applying twice runs nothing the second time.

Two refusals, before anything changes:

* ``RetentionConflict``: the plan's raw policy is not the DEFAULT yet and the current
  DEFAULT holds shards. Readers query measurements without a policy prefix, i.e. the
  DEFAULT policy; switching it would hide those points from them and from ``verify``.
* ``RetentionUnsupported``: InfluxDB 2.x and 3.x serve the v1 query API but take no
  retention statements (2.x answers "not implemented: CREATE RETENTION POLICY"); the
  error says to set the bucket's retention instead.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from influx.client import InfluxClient
from influx.errors import DatabaseNotFound, InfluxRejected, RetentionConflict, RetentionUnsupported
from influx.quoting import identifier
from influx.retentionplan import CQ_PREFIX, Policy, RetentionPlan, go_duration, same_query

# What 2.x/3.x (and proxies in front of them) answer to statements they do not take.
_UNSUPPORTED = re.compile(r"not implemented|not supported|unsupported|forbidden", re.IGNORECASE)
_MAJOR = re.compile(r"^v?(\d+)")


class PolicyState(BaseModel):
    """One retention policy as InfluxDB reports it, with the shards it holds."""

    model_config = ConfigDict(frozen=True)

    name: str
    duration: timedelta | None  # None: forever
    shard_duration: timedelta | None
    default: bool
    shards: int | None = None  # None: SHOW SHARDS was not allowed
    oldest_shard: datetime | None = None


class QueryState(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    query: str


class RetentionState(BaseModel):
    """A database's policies and continuous queries."""

    model_config = ConfigDict(frozen=True)

    policies: tuple[PolicyState, ...]
    queries: tuple[QueryState, ...]

    def policy(self, name: str) -> PolicyState | None:
        return next((p for p in self.policies if p.name == name), None)

    @property
    def default(self) -> PolicyState | None:
        return next((p for p in self.policies if p.default), None)

    def query(self, name: str) -> QueryState | None:
        return next((q for q in self.queries if q.name == name), None)


class RetentionAdmin:
    """The retention of ``client``'s database (the client stays the caller's to close)."""

    def __init__(self, client: InfluxClient) -> None:
        self._client = client

    @property
    def database(self) -> str:
        return self._client.database

    def state(self) -> RetentionState:
        """What InfluxDB has; ``DatabaseNotFound`` when the database does not exist."""
        db = identifier(self.database)
        found = self._client.query(f"SHOW RETENTION POLICIES ON {db}")
        shards = self._shards()
        policies = []
        for row in (r for s in found for r in s.rows()):
            held = None if shards is None else shards.get(str(row["name"]), [])
            policies.append(
                PolicyState(
                    name=str(row["name"]),
                    duration=go_duration(str(row["duration"])),
                    shard_duration=go_duration(str(row["shardGroupDuration"])),
                    default=bool(row["default"]),
                    shards=None if held is None else len(held),
                    oldest_shard=min(held, default=None) if held is not None else None,
                )
            )
        queries = [
            QueryState(name=str(row["name"]), query=str(row["query"]))
            for s in self._client.query("SHOW CONTINUOUS QUERIES")
            if s.name == self.database
            for row in s.rows()
        ]
        return RetentionState(policies=tuple(policies), queries=tuple(queries))

    def statements(self, plan: RetentionPlan, state: RetentionState) -> list[str]:
        """The statements that turn ``state`` into ``plan`` (none: it is the plan already).

        Raises ``RetentionConflict`` if they would hide stored points (module docstring).
        """
        db = self.database
        out: list[str] = []
        raw = state.policy(plan.raw.name)
        if raw is None or not raw.default:
            _refuse_hiding(db, plan.raw, state.default)
        out += _policy_change(plan, db, plan.raw, raw, default=True)
        out += _policy_change(plan, db, plan.rollup, state.policy(plan.rollup.name), default=False)
        wanted = {cq.name: plan.continuous_query(db, cq) for cq in plan.downsamples}
        for shown in state.queries:
            if shown.name.startswith(CQ_PREFIX) and not (
                shown.name in wanted and same_query(shown.query, wanted[shown.name])
            ):
                out.append(f"DROP CONTINUOUS QUERY {identifier(shown.name)} ON {identifier(db)}")
        for name, query in wanted.items():
            shown_query = state.query(name)
            if shown_query is None or not same_query(shown_query.query, query):
                out.append(query)
        return out

    def apply(self, plan: RetentionPlan, *, create: bool = False) -> list[str]:
        """Make the database's retention ``plan``; the statements it ran (empty: none needed).

        ``create``: create a missing database first (else ``DatabaseNotFound``). Raises
        ``RetentionUnsupported`` (2.x/3.x), ``RetentionConflict``, other ``InfluxError``s
        as the client does.
        """
        self._require_policies(plan)
        try:
            state = self.state()
        except DatabaseNotFound:
            if not create:
                raise
            self._client.create_database()
            state = self.state()
        todo = self.statements(plan, state)
        for statement in todo:
            try:
                self._client.execute(statement)
            except InfluxRejected as exc:
                if _UNSUPPORTED.search(exc.reason):
                    raise self._unsupported(plan, exc.reason) from exc
                raise
        return todo

    def _require_policies(self, plan: RetentionPlan) -> None:
        version = self._client.ping()
        major = _MAJOR.match(version)
        if major is not None and int(major.group(1)) >= 2:
            raise self._unsupported(plan, f"InfluxDB {version}")

    def _unsupported(self, plan: RetentionPlan, why: str) -> RetentionUnsupported:
        keep = plan.raw.duration
        hours = "0 (forever)" if keep is None else f"{keep // timedelta(hours=1)}h"
        return RetentionUnsupported(
            f"InfluxDB at {self._client.url} takes no retention policies through its v1 API "
            f"({why}). Set the retention of the bucket that database {self.database!r} maps "
            f"to instead, to at least {plan.raw.describe()}: InfluxDB 2.x `influx bucket "
            f"update --id BUCKET_ID --retention {hours}`, 3.x the database's retention "
            "period (`influxdb3 create database --retention-period`); downsample with a task "
            "there. Or set TRACEHUB_RETENTION_MANAGE=false to leave retention to the server.",
            reason=why,
        )

    def _shards(self) -> dict[str, list[datetime]] | None:
        """Policy name → start of each shard group holding this database's points."""
        try:
            found = self._client.query("SHOW SHARDS")
        except InfluxRejected:
            return None  # not an admin: shards unknown
        held: dict[str, list[datetime]] = {}
        for row in (r for s in found if s.name == self.database for r in s.rows()):
            start = _instant(row["start_time"])
            held.setdefault(str(row["retention_policy"]), []).append(start)
        return held


def _instant(value: object) -> datetime:
    # SHOW SHARDS answers RFC 3339 text whatever the epoch asked for.
    if isinstance(value, int):
        return datetime.fromtimestamp(value / 1e9, UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def _policy_change(
    plan: RetentionPlan, db: str, wanted: Policy, shown: PolicyState | None, *, default: bool
) -> list[str]:
    if shown is None:
        return [plan.create_policy(db, wanted, default=default)]
    if shown.duration != wanted.duration or (default and not shown.default):
        return [plan.alter_policy(db, wanted, default=default)]
    return []


def _refuse_hiding(db: str, raw: Policy, current: PolicyState | None) -> None:
    if current is None or current.name == raw.name:
        return
    if current.shards == 0:
        return  # nothing stored there yet: switching hides nothing
    held = (
        "may hold points (SHOW SHARDS is not allowed to this user)"
        if current.shards is None
        else f"holds {current.shards} shard group(s) from {current.oldest_shard:%Y-%m-%d} on"
    )
    raise RetentionConflict(
        f"TRACEHUB_RETENTION_RAW_POLICY={raw.name}: database {db!r}'s DEFAULT policy is "
        f"{current.name!r}, which {held}. Making {raw.name!r} the DEFAULT would hide those "
        "readings from every reader and from `tracehub verify` (they query the DEFAULT "
        f"policy). Set TRACEHUB_RETENTION_RAW_POLICY={current.name} to keep it (its duration "
        "is altered), or copy the points first: SELECT * INTO "
        f"{identifier(db)}.{identifier(raw.name)}.:MEASUREMENT FROM {identifier(db)}."
        f"{identifier(current.name)}./.*/ GROUP BY *"
    )
