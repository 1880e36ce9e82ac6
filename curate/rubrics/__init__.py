"""Rubrics: contrastive rubric generation with a label-consistency filter (OpenRubrics), and binary principles
read out of feedback text (RLBFF)."""
