"""A small test CA with a server and client certificates (``skillrt certs``), for TLS and mTLS.

For trying TLS out and for tests; production deployments bring certificates from their own PKI.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["make_test_pki"]

_VALID_DAYS = 365


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _issue(
    subject: str,
    issuer_name: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    server: bool = False,
    hosts: tuple[str, ...] = (),
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if hosts:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_test_pki(
    out: Path,
    *,
    hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1"),
    clients: tuple[str, ...] = (),
) -> dict[str, Path]:
    """ca.pem, server.pem/server.key and <client>.pem/<client>.key in ``out``; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _issue("skillrt test CA", _name("skillrt test CA"), ca_key, ca_key, ca=True)
    files = {"ca": out / "ca.pem"}
    _write(files["ca"], ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    for common_name, server in [("server", True), *((c, False) for c in clients)]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue(
            hosts[0] if server else common_name,
            ca_cert.subject,
            ca_key,
            key,
            server=server,
            hosts=hosts if server else (),
        )
        files[f"{common_name}.pem"] = out / f"{common_name}.pem"
        files[f"{common_name}.key"] = out / f"{common_name}.key"
        _write(files[f"{common_name}.pem"], cert.public_bytes(serialization.Encoding.PEM), 0o644)
        _write(files[f"{common_name}.key"], _key_pem(key), 0o600)
    return files
