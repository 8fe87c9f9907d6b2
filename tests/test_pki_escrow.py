"""Certificates signed by kmslab keys, verified by plain cryptography; key escrow and split custody."""

import json
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification

from kmslab import errors, escrow, pki


def _signing_key(kms, spec):
    return kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]


@pytest.fixture
def chain(lab, kms):
    root = pki.KmsCertificateAuthority(kms, _signing_key(kms, "ECC_NIST_P384"), "Example Root CA")
    root_cert = root.self_signed(days=3650)
    inter = pki.KmsCertificateAuthority(kms, _signing_key(kms, "RSA_2048"), "Example Issuing CA")
    inter_cert = root.issue_ca(inter, days=1825)
    leaf_key = _signing_key(kms, "ECC_NIST_P256")
    leaf = inter.issue(kms.get_public_key(KeyId=leaf_key)["PublicKey"], "www.example.com",
                       dns_names=["www.example.com"])
    return root, root_cert, inter, inter_cert, leaf, leaf_key


def test_chain_verifies_with_plain_cryptography(lab, chain):
    root, root_cert, inter, inter_cert, leaf, _ = chain
    root_cert.verify_directly_issued_by(root_cert)
    inter_cert.verify_directly_issued_by(root_cert)
    leaf.verify_directly_issued_by(inter_cert)
    path = pki.verify_chain(leaf, [inter_cert], root_cert, "www.example.com", at=lab.clock.now())
    assert [c.subject for c in path] == [leaf.subject, inter_cert.subject, root_cert.subject]
    assert inter_cert.signature_algorithm_oid == x509.SignatureAlgorithmOID.ECDSA_WITH_SHA384
    assert leaf.signature_algorithm_oid == x509.SignatureAlgorithmOID.RSA_WITH_SHA256


def test_ca_signatures_come_from_kms_sign_with_digest(lab, chain):
    signs = [r for r in lab.audit.records() if r["eventName"] == "Sign"]
    assert len(signs) == 3
    assert {r["requestParameters"]["messageType"] for r in signs} == {"DIGEST"}


def test_chain_fails_for_wrong_root_name_or_time(lab, kms, chain):
    root, root_cert, inter, inter_cert, leaf, _ = chain
    other = pki.KmsCertificateAuthority(kms, _signing_key(kms, "ECC_NIST_P256"), "Other Root")
    other_cert = other.self_signed()
    with pytest.raises(verification.VerificationError):
        pki.verify_chain(leaf, [inter_cert], other_cert, "www.example.com", at=lab.clock.now())
    with pytest.raises(verification.VerificationError):
        pki.verify_chain(leaf, [inter_cert], root_cert, "evil.example.com", at=lab.clock.now())
    with pytest.raises(verification.VerificationError):
        pki.verify_chain(leaf, [inter_cert], root_cert, "www.example.com",
                         at=lab.clock.now() + timedelta(days=400))
    with pytest.raises((InvalidSignature, ValueError, TypeError)):
        leaf.verify_directly_issued_by(other_cert)


def test_leaf_key_signs_and_the_certificate_proves_whose_it_is(kms, chain):
    *_, leaf, leaf_key = chain
    sig = kms.sign(KeyId=leaf_key, Message=b"hello", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    public = leaf.public_key()
    assert public.verify(sig, b"hello", ec.ECDSA(hashes.SHA256())) is None  # raises if not
    with pytest.raises(InvalidSignature):
        public.verify(sig, b"hellO", ec.ECDSA(hashes.SHA256()))


def test_kms_signer_rejects_non_signing_keys(kms):
    enc = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    with pytest.raises(ValueError):
        pki.KmsSigner(kms, enc)
    sym = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(errors.UnsupportedOperationException):
        pki.KmsSigner(kms, sym)


def test_pss_signed_certificate_verifies(lab, kms):
    ca = pki.KmsCertificateAuthority(kms, _signing_key(kms, "RSA_3072"), "PSS Root",
                                     signing_algorithm="RSASSA_PSS_SHA_384")
    cert = ca.self_signed()
    cert.verify_directly_issued_by(cert)
    assert cert.signature_algorithm_oid == x509.SignatureAlgorithmOID.RSASSA_PSS


# ----------------------------------------------------------------- escrow

def test_xor_split_needs_every_share():
    secret = bytes(range(32))
    shares = escrow.xor_split(secret, 3)
    assert len(shares) == 3 and all(len(s) == 32 for s in shares)
    assert escrow.xor_combine(shares) == secret
    assert escrow.xor_combine(shares[:2]) != secret
    assert secret not in shares
    with pytest.raises(ValueError):
        escrow.xor_split(secret, 1)


@pytest.fixture
def escrow_world(lab):
    agent = lab.add_account("999988887777", name="escrow agent")
    lab.add_role("recovery-officer", account=agent)
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Agent administers but cannot decrypt", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{agent}:root"}, "NotAction": "kms:Decrypt",
         "Resource": "*"},
        {"Sid": "Only the recovery officer recovers", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{agent}:role/recovery-officer"},
         "Action": "kms:Decrypt", "Resource": "*"},
        {"Sid": "The owner account may deposit", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
         "Action": ["kms:Encrypt", "kms:DescribeKey"], "Resource": "*"}]}
    agent_admin = lab.client(account=agent)
    escrow_key = agent_admin.create_key(Policy=json.dumps(policy),
                                        Description="escrow")["KeyMetadata"]["Arn"]
    return agent, agent_admin, escrow_key


def test_escrowed_data_key_recoverable_only_by_the_recovery_officer(lab, kms, escrow_world):
    agent, agent_admin, escrow_key = escrow_world
    owner_key = kms.create_key()["KeyMetadata"]["KeyId"]
    context = {"purpose": "payroll-2025"}
    data_key, wrapped = escrow.escrow_data_key(kms, owner_key, escrow_key, context)
    assert kms.decrypt(CiphertextBlob=wrapped.owner_blob, EncryptionContext=context)["Plaintext"] == data_key
    officer = lab.client(account=agent, as_="recovery-officer")
    assert escrow.recover_from_escrow(officer, wrapped) == data_key
    with pytest.raises(errors.AccessDeniedException):
        escrow.recover_from_escrow(agent_admin, wrapped)  # the agent's admin cannot
    with pytest.raises(errors.AccessDeniedException):
        escrow.recover_from_escrow(kms, wrapped)  # nor can the owner use the escrow copy


def test_split_custody_needs_both_custodians(lab, kms):
    alice_key = kms.create_key(Description="custodian alice")["KeyMetadata"]["Arn"]
    bob_key = kms.create_key(Description="custodian bob")["KeyMetadata"]["Arn"]
    secret = kms.generate_data_key(KeyId=alice_key, KeySpec="AES_256")["Plaintext"]
    split = escrow.split_custody(kms, secret, [alice_key, bob_key], {"vault": "main"})
    assert escrow.recover_split([kms, kms], split) == secret
    with pytest.raises(ValueError):
        escrow.recover_split([kms], split)
    kms.disable_key(KeyId=bob_key)  # one custodian refuses: nothing can be recovered
    with pytest.raises(errors.DisabledException):
        escrow.recover_split([kms, kms], split)
