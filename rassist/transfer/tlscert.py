"""Per-transfer TLS 1.3 identities, pinned by the peer through the authenticated ctl channel.

Each side makes a fresh self-signed certificate; the other side trusts exactly that
certificate and nothing else (it is loaded as the only trust anchor, and its SHA-256 is
compared again after the handshake). A stranger on the network who connects to the
listener cannot complete the handshake, and neither can a machine in the middle.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import ssl
import tempfile
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Identity:
    cert_pem: str
    key_pem: bytes

    @property
    def fingerprint(self) -> str:
        return pem_fingerprint(self.cert_pem)


def pem_fingerprint(cert_pem: str) -> str:
    return der_fingerprint(ssl.PEM_cert_to_DER_cert(cert_pem))


def der_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def new_identity() -> Identity:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rassist transfer")])
    public = key.public_key()
    # Pinned, so the dates only need to survive clock skew between the two machines.
    start = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=365)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        # A self-signed anchor that strict verifiers (X509_STRICT) accept as well.
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Identity(
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def _load_identity(ctx: ssl.SSLContext, me: Identity) -> None:
    # ssl only loads key material from files: a private directory, removed at once.
    with tempfile.TemporaryDirectory(prefix="rassist-tls-") as folder:
        cert_path = os.path.join(folder, "cert.pem")
        key_path = os.path.join(folder, "key.pem")
        with open(cert_path, "w", encoding="ascii") as f:
            f.write(me.cert_pem)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(me.key_pem)
        ctx.load_cert_chain(cert_path, key_path)


def _context(purpose: int, me: Identity, peer_cert_pem: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(purpose)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False  # no names here: the certificate itself is pinned
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
    _load_identity(ctx, me)
    ctx.load_verify_locations(cadata=peer_cert_pem)
    return ctx


def server_context(me: Identity, peer_cert_pem: str) -> ssl.SSLContext:
    return _context(ssl.PROTOCOL_TLS_SERVER, me, peer_cert_pem)


def client_context(me: Identity, peer_cert_pem: str) -> ssl.SSLContext:
    return _context(ssl.PROTOCOL_TLS_CLIENT, me, peer_cert_pem)


def check_peer(sock: ssl.SSLSocket, peer_cert_pem: str) -> None:
    """After the handshake: the peer presented exactly the pinned certificate."""
    der = sock.getpeercert(binary_form=True)
    if der is None or der_fingerprint(der) != pem_fingerprint(peer_cert_pem):
        raise ssl.SSLError("the peer's certificate is not the pinned one")
