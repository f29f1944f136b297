"""The operator console (``/console``, issue #17): the cold-chain monitor's live view.

* ``gate`` — the contract between the pages and the accounts: who is signed in, with
  which role, the CSRF token of their session, and the electronic signature a
  disposition, a release, a master-data change or a device revocation asks for.
* ``auth`` — the gate over ``traceability.accounts``: login and logout, signed session
  cookies with an idle timeout, CSRF, lockout, login events.
* ``session`` — the MACs of its cookies and CSRF tokens (the site's secret), the login's
  ``next`` kept to this site.
* ``pages`` and the modules beside it — the views (sites → places, incidents, lots,
  devices, health), server-rendered in English and Chinese, live over Server-Sent Events.
"""
