"""New key material for a key spec: the one place that picks the crypto class."""

from __future__ import annotations

from .symmetric import SymmetricMaterial

__all__ = ["generate_material"]


def generate_material(spec: str):
    """Fresh material for ``spec`` from the OS CSPRNG (an opaque handle)."""
    if spec == "SYMMETRIC_DEFAULT":
        return SymmetricMaterial.generate()
    if spec.startswith("HMAC_"):
        from .mac import HmacMaterial
        return HmacMaterial.generate(spec)
    from .asymmetric import AsymmetricMaterial
    return AsymmetricMaterial.generate(spec)
