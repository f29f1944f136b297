"""Grafana dashboards and alert rules as code, over tracehub's InfluxDB.

The dashboards are built with Grafana Labs' typed builders
(``grafana-foundation-sdk``) on the shared InfluxDB schema (docs/grafana.md)
and written as JSON under ``grafana/dashboards/``; the alert rules and their
contact point go to ``grafana/provisioning/alerting/``. ``python -m
grafana.generate`` rewrites both; ``tracehub grafana publish`` pushes them to
a running Grafana.

Modules, pure first: ``policy`` (bands, budgets, capacities), ``influxql``
(the InfluxQL query type the SDK lacks), ``macros`` (Grafana's template
expansion, for running panel queries outside Grafana), ``panels``,
``boards.*`` (one module per dashboard), ``alerts``, ``generate``;
``publish`` (idempotent push through a port) and ``client`` (the
``grafana-client`` adapter, an optional extra). Imports no project package.
"""
