"""Old module path of the architecture specs, kept for pickles of release 0.1.0 (an alias)."""

from .._networks.specs import AutoencoderSpec, CNNSpec, ConvAutoencoderSpec, MLPSpec

__all__ = ["AutoencoderSpec", "CNNSpec", "ConvAutoencoderSpec", "MLPSpec"]
