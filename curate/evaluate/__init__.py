"""Evaluating releases: train a reward model on one and score it on held-out pairs."""
