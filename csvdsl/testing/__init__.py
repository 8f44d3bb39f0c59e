"""Testing aids shipped with csvdsl: Hypothesis strategies and differential fuzzing."""
