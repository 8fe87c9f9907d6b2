"""New key material for a key spec: the one place that picks the crypto class."""

from __future__ import annotations

from .symmetric import SymmetricMaterial

__all__ = ["generate_material"]


def generate_material(spec: str):
    """Fresh material for ``spec`` from the OS CSPRNG (an opaque handle).

    RSA key pairs are generated in a worker thread (``BACKGROUND_SPECS``): the
    handle comes back at once and its first use waits for the key.
    """
    if spec == "SYMMETRIC_DEFAULT":
        return SymmetricMaterial.generate()
    if spec.startswith("HMAC_"):
        from .mac import HmacMaterial
        return HmacMaterial.generate(spec)
    from .asymmetric import BACKGROUND_SPECS, AsymmetricMaterial
    if spec in BACKGROUND_SPECS:
        return AsymmetricMaterial.generate_in_background(spec)
    return AsymmetricMaterial.generate(spec)
