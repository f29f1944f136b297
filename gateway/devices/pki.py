"""The site's own certificate authority: EC P-256 keys, X.509 certificates and the CRL.

Pure values and functions over ``cryptography``; nothing here touches the disk (the
device registry stores what these return). Every key leaves this module only as
PKCS#8 PEM encrypted with the registry's passphrase (``encrypt_key``), except the
broker's, which mosquitto cannot decrypt itself (``plain_key``, written by the
launcher into the broker's private runtime folder only).

Certificates:

* CA: self-signed, ``BasicConstraints(ca, path_length=0)``, signs certs and CRLs.
* broker (server): ``serverAuth``, SANs for the names devices dial.
* device and gateway (client): ``clientAuth``, subject CN = the MQTT identity, which
  mosquitto takes as the username (``use_identity_as_username``) for the ACL.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.errors import IdentityError

PrivateKey = ec.EllipticCurvePrivateKey
# A few minutes back-dated: a device whose clock lags slightly still accepts a fresh cert.
_BACKDATE = timedelta(minutes=5)


def new_key() -> PrivateKey:
    """A fresh EC P-256 key (cheap to make, accepted by every TLS stack devices run)."""
    return ec.generate_private_key(ec.SECP256R1())


def encrypt_key(key: PrivateKey, passphrase: bytes) -> bytes:
    """PKCS#8 PEM, encrypted with ``passphrase`` (what is kept on disk)."""
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(passphrase))


def plain_key(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM: only for the broker, which has no passphrase option."""
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def load_key(data: bytes, passphrase: bytes, where: str) -> PrivateKey:
    """Decrypt a key written by ``encrypt_key``; the error names the file, never the secret."""
    try:
        key = load_pem_private_key(data, password=passphrase)
    except (ValueError, TypeError) as exc:
        raise IdentityError(
            f"{where} cannot be decrypted: wrong passphrase (TRACEHUB_DEVICES_PASSPHRASE) "
            "or not an encrypted PKCS#8 key"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise IdentityError(f"{where} is not an EC key: re-provision it")
    return key


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.PEM)


def load_cert(data: bytes, where: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise IdentityError(f"{where} is not a PEM certificate: re-provision it") from exc


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


def create_ca(
    site: str, key: PrivateKey, now: datetime | None = None, days: int = 3650
) -> x509.Certificate:
    """The site CA's self-signed certificate."""
    start = (now or datetime.now(UTC)) - _BACKDATE
    name = _name(f"tracehub site CA {site}", "tracehub")
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _san(names: Iterable[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def issue(
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    subject_key: PrivateKey,
    common_name: str,
    *,
    server_names: Sequence[str] = (),
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    days: int = 365,
    now: datetime | None = None,
) -> x509.Certificate:
    """A leaf certificate: a server cert if ``server_names`` is given, else a client cert.

    ``not_before``/``not_after`` override the validity (tests issue expired certs).
    """
    if not common_name or len(common_name) > 64:
        raise IdentityError(f"common name {common_name!r} must be 1-64 characters")
    if days < 1:
        raise IdentityError(f"certificate validity must be at least 1 day, got {days}")
    start = not_before or (now or datetime.now(UTC)) - _BACKDATE
    end = not_after or start + timedelta(days=days)
    if end <= start:
        raise IdentityError(f"certificate validity ends ({end}) before it starts ({start})")
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server_names else ExtendedKeyUsageOID.CLIENT_AUTH
    public = subject_key.public_key()
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    )
    if server_names:
        builder = builder.add_extension(_san(server_names), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def create_crl(
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    revoked: Iterable[tuple[int, datetime]],
    now: datetime | None = None,
    days: int = 365,
) -> bytes:
    """A CRL (PEM) listing ``revoked`` (serial, when). Re-issued on every registry change,
    at every hub start and by ``tracehub devices rotate --expiring``; its ``next_update``
    is far out because an expired CRL makes the broker refuse every client."""
    start = (now or datetime.now(UTC)) - _BACKDATE
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(start)
        .next_update(start + timedelta(days=days))
    )
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(Encoding.PEM)


def crl_next_update(data: bytes, where: str) -> datetime:
    """When a CRL (PEM) stops being valid: after it the broker refuses every client."""
    try:
        crl = x509.load_pem_x509_crl(data)
    except ValueError as exc:
        raise IdentityError(
            f"{where} is not a PEM CRL: rewrite it (tracehub devices init)"
        ) from exc
    when = crl.next_update_utc
    if when is None:
        raise IdentityError(f"{where} has no next update date: rewrite it")
    return when


def common_name(cert: x509.Certificate) -> str:
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""
