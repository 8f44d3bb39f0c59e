"""Batch jobs: the built-in and model teachers, students, labels, shards, stats and export."""
