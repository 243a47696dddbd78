from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gitward.local import pki


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_every_certificate_is_signed_by_the_clusters_own_ca(tmp_path: Path) -> None:
    made = pki.create(tmp_path / "pki", "demo")
    ca = _cert(made.ca_cert)
    for path in [made.serving_cert, *(made.client_cert(w) for w in pki.IDENTITIES)]:
        _cert(path).verify_directly_issued_by(ca)


def test_admin_is_in_system_masters_and_components_are_their_rbac_users(tmp_path: Path) -> None:
    made = pki.create(tmp_path / "pki", "demo")
    admin = _cert(made.client_cert(pki.IDENTITIES[0])).subject
    assert admin.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    users = {
        _cert(made.client_cert(w)).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        for w in pki.IDENTITIES
    }
    assert {"system:kube-controller-manager", "system:kube-scheduler"} <= users
    usage = _cert(made.client_cert(pki.IDENTITIES[0])).extensions.get_extension_for_class(
        x509.ExtendedKeyUsage
    )
    assert list(usage.value) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_serving_certificate_names_loopback_and_the_in_cluster_service(tmp_path: Path) -> None:
    made = pki.create(tmp_path / "pki", "demo")
    sans = _cert(made.serving_cert).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)
    assert "kubernetes.default.svc" in sans.get_values_for_type(x509.DNSName)


def test_two_clusters_never_share_a_ca_and_keys_are_private(tmp_path: Path) -> None:
    one = pki.create(tmp_path / "one", "one")
    two = pki.create(tmp_path / "two", "two")
    assert one.ca_cert.read_bytes() != two.ca_cert.read_bytes()
    assert one.sa_key.stat().st_mode & 0o077 == 0
    assert one.ca_key.stat().st_mode & 0o077 == 0
    assert isinstance(_cert(one.ca_cert).public_key(), ec.EllipticCurvePublicKey)
