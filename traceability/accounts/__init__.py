"""Operator accounts (issue #17): who may use the console, in which role, and how they
prove it — at login and again for an electronic signature.

* ``service``   ``AccountService``: users (add, disable, enable, reset, TOTP), logins,
  signature checks, lockout, server-side sessions; the one write path
* ``passwords`` the password policy, one-time passwords, Argon2id hashing (argon2-cffi)
* ``totp``      RFC 6238 time-based codes (SHA-1, 30 s, 6 digits), ``otpauth://`` URIs
* ``policy``    the settable limits: ``LockoutPolicy``, ``SessionPolicy``
* ``errors``    ``AccountError`` and its children

Roles (viewer < operator < quality < admin) are ``traceability.records.accounts.Role``;
the records (users, sessions, login events) are ``traceability.records.accounts``. The
console's cookies and forms are ``web.console.auth``; the CLI is ``tracehub users``.
"""
