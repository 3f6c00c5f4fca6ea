"""Migration without re-embedding: ``align`` fits maps from a new model's space into an old
collection's and measures what they recover; ``AlignResult`` holds the tables, the maps and
the migration gate; ``load_align`` reads a written folder back."""

from harness.aligning.data import AlignSettings, Split, split_ids, train_sizes
from harness.aligning.pipeline import align, run_align
from harness.aligning.result import GATE_FAILED, AlignResult, Gate, check_gate_inputs, load_align

__all__ = [
    "GATE_FAILED",
    "AlignResult",
    "AlignSettings",
    "Gate",
    "Split",
    "align",
    "check_gate_inputs",
    "load_align",
    "run_align",
    "split_ids",
    "train_sizes",
]
