"""Supervised background work: loops that cannot die quietly, and what they report.

A leaf (it imports no project package), so the gateway running alone
(``python -m gateway``), the anchoring loop and the hub all use the same one:

* ``status``      the frozen values a component reports: its state, restarts, last
  error and last success (``ComponentStatus``), and a process's readiness
  (``Readiness``: every component, and the records set aside)
* ``supervisor``  ``Supervisor``: runs each loop in a thread of its own, catches every
  unexpected exception (logged with its traceback), restarts the loop with capped
  exponential backoff, and keeps each component's status; components it cannot
  restart (a web server, a client library's own network loop) are watched, not run
"""
