"""Bring your own key: the client side of importing key material, step by step.

Works with any boto3-shaped KMS client (a lab's ``lab.client()`` or a real
``boto3.client("kms")``)::

    from kmslab.byok import import_key_material
    steps = import_key_material(kms, key_id, material, valid_to=lab.clock.now() + timedelta(days=90))
    steps.frame()          # one row per step: what was sent, what came back (sizes, ids, never bytes)

``material`` is what you own: 32 raw bytes for a symmetric key, the raw key
for an HMAC key, or the private key as DER PKCS#8 for an asymmetric key.
:func:`wrap_key_material` is the wrapping step on its own (the same bytes
OpenSSL would produce; see ``kmslab.crypto.wrapping`` for the recipe).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .crypto.wrapping import wrap_key_material

__all__ = ["wrap_key_material", "import_key_material", "ImportSteps", "ImportStep"]


@dataclass(frozen=True, slots=True)
class ImportStep:
    """One step of an import: its name, what it did, and the facts worth showing."""

    number: int
    name: str
    explanation: str
    facts: dict = field(default_factory=dict)

    def facts_text(self) -> str:
        """The facts as ``name=value, ...`` (sizes, ids and dates; never key bytes)."""
        return ", ".join(f"{k}={v}" for k, v in self.facts.items())


@dataclass(slots=True)
class ImportSteps:
    """The record of a whole import (for notebooks and widgets). Holds no secret bytes."""

    key_id: str
    steps: list[ImportStep] = field(default_factory=list)
    key_material_id: str | None = None

    def add(self, name: str, explanation: str, **facts: Any) -> None:
        """Record the next step: its name, what it does, and the facts it produced."""
        self.steps.append(ImportStep(len(self.steps) + 1, name, explanation, facts))

    def frame(self):
        """The steps as a DataFrame (step, name, explanation, facts)."""
        import pandas as pd
        return pd.DataFrame([{"step": s.number, "name": s.name, "explanation": s.explanation,
                              "facts": s.facts_text()} for s in self.steps])

    def __repr__(self) -> str:
        lines = [f"ImportSteps for {self.key_id}:"]
        lines += [f"  {s.number}. {s.name}: {s.facts_text()}" for s in self.steps]
        return "\n".join(lines)


def import_key_material(kms, key_id: str, material: bytes, *,
                        wrapping_algorithm: str = "RSA_AES_KEY_WRAP_SHA_256",
                        wrapping_key_spec: str = "RSA_4096",
                        valid_to: datetime | None = None,
                        import_type: str | None = None,
                        key_material_description: str | None = None) -> ImportSteps:
    """Import ``material`` into the EXTERNAL key ``key_id``, the way a key owner does it.

    1. GetParametersForImport: a wrapping public key and an import token (24 hours).
    2. Wrap the material locally with the public key (``wrap_key_material``).
    3. ImportKeyMaterial: send the wrapped material and the token. With
       ``valid_to`` the material expires then (KEY_MATERIAL_EXPIRES);
       without it, it never expires (KEY_MATERIAL_DOES_NOT_EXPIRE).
    4. DescribeKey: the key state after the import.

    ``import_type`` (NEW_KEY_MATERIAL / EXISTING_KEY_MATERIAL) and
    ``key_material_description`` are passed through for symmetric keys.
    Returns the :class:`ImportSteps` record; AWS errors propagate unchanged.
    """
    record = ImportSteps(key_id)
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=wrapping_algorithm,
                                           WrappingKeySpec=wrapping_key_spec)
    record.add("GetParametersForImport",
               "KMS makes an RSA wrapping key pair and hands out its public half with an import "
               "token bound to this key, wrapping key and algorithm.",
               wrapping_key_spec=wrapping_key_spec, wrapping_algorithm=wrapping_algorithm,
               public_key_bytes=len(params["PublicKey"]), import_token_bytes=len(params["ImportToken"]),
               parameters_valid_to=params["ParametersValidTo"])
    wrapped = wrap_key_material(params["PublicKey"], wrapping_algorithm, material)
    how = ("RSA-OAEP of the material itself" if wrapping_algorithm.startswith("RSAES_OAEP_")
           else "RSA-OAEP of a fresh AES-256 key, then AES key wrap with padding of the material")
    record.add("Wrap key material", f"Locally: {how}. Only the wrapped bytes leave your side.",
               material_bytes=len(material), encrypted_key_material_bytes=len(wrapped))
    request: dict[str, Any] = {"KeyId": key_id, "ImportToken": params["ImportToken"],
                               "EncryptedKeyMaterial": wrapped}
    if valid_to is None:
        request["ExpirationModel"] = "KEY_MATERIAL_DOES_NOT_EXPIRE"
    else:
        request["ExpirationModel"] = "KEY_MATERIAL_EXPIRES"
        request["ValidTo"] = valid_to
    if import_type is not None:
        request["ImportType"] = import_type
    if key_material_description is not None:
        request["KeyMaterialDescription"] = key_material_description
    response = kms.import_key_material(**request)
    record.key_material_id = response.get("KeyMaterialId")
    record.add("ImportKeyMaterial",
               "KMS unwraps the material with the private half of the wrapping key and installs it.",
               expiration_model=request["ExpirationModel"], valid_to=valid_to,
               key_material_id=record.key_material_id)
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    record.add("DescribeKey", "The key can be used once all its key material is imported.",
               key_state=metadata["KeyState"], origin=metadata["Origin"],
               expiration_model=metadata.get("ExpirationModel"), valid_to=metadata.get("ValidTo"))
    return record
