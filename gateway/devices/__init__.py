"""Device identities: who may connect to the broker and what each may publish or read.

Pure modules: ``access`` (``Identity``, its topic grants, mosquitto's ACL and ``$7$``
password-file formats), ``pki`` (the site CA's keys, certificates and CRL over
``cryptography``; no disk), ``records`` (what ``registry.json`` holds), ``expiry``
(what lapses when, and what a renewal does to the old certificate). On disk:
``folder`` (the registry folder's layout, owner-only atomic writes, keys encrypted with
the passphrase), ``broker`` (the broker's certificate, ACL, password file and CRL,
rewritten on every change, exported for a broker elsewhere, SIGHUP to reload). Service:
``registry`` (``DeviceRegistry``: provision, revoke, rotate, renew, export credentials);
``renewal`` (renew what lapses soon, the hub's start check, the health's counter). Errors
are ``gateway.errors.IdentityError`` and ``UnknownIdentity``.
"""
