"""Augmentations: causal and neutral synthetic pairs (Crome) and adversarial non-answer negatives, each linked to
its parent pair and generator."""
