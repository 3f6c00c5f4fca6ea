"""Models: specs (what a name points to), the Embedder seam, and its sentence-transformers
implementation. Only ``load_model`` imports torch and sentence-transformers, when called."""

from harness.models.base import Embedder, Role, WrappedEmbedder
from harness.models.catalog import folder_metadata, folder_size, list_packaged_models
from harness.models.encoding import Encoding, similarity_note
from harness.models.hashing import HashingEmbedder
from harness.models.packaged import PACKAGED_MODELS, PackagedModel, SplitArchive, model_cache_dir, packaged_folder
from harness.models.sentence import SentenceTransformerEmbedder, load_model
from harness.models.specs import INSTALL_HINT, ModelRef, model_alias, ref_for_record, resolve_model, with_prompts
from harness.models.variants import Variant, available_variants, parse_variant, variant_kinds

__all__ = [
    "Embedder",
    "HashingEmbedder",
    "Encoding",
    "INSTALL_HINT",
    "ModelRef",
    "PACKAGED_MODELS",
    "PackagedModel",
    "Role",
    "SplitArchive",
    "Variant",
    "WrappedEmbedder",
    "available_variants",
    "SentenceTransformerEmbedder",
    "folder_metadata",
    "folder_size",
    "list_packaged_models",
    "load_model",
    "model_alias",
    "model_cache_dir",
    "packaged_folder",
    "parse_variant",
    "ref_for_record",
    "resolve_model",
    "similarity_note",
    "variant_kinds",
    "with_prompts",
]
