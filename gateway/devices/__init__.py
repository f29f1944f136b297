"""Device identities: who may connect to the broker and what each may publish or read.

Pure modules: ``access`` (``Identity``, its topic grants, mosquitto's ACL and ``$7$``
password-file formats), ``pki`` (the site CA's keys, certificates and CRL over
``cryptography``; no disk), ``records`` (what ``registry.json`` holds). On disk:
``folder`` (the registry folder's layout, owner-only atomic writes, keys encrypted with
the passphrase), ``broker`` (the broker's certificate, ACL, password file and CRL,
rewritten on every change, exported for a broker elsewhere, SIGHUP to reload). Service:
``registry`` (``DeviceRegistry``: provision, revoke, rotate, export credentials). Errors
are ``gateway.errors.IdentityError`` and ``UnknownIdentity``.
"""
