"""Comparing a student's work with a teacher's: answers, plan structure, hooks, rewards."""
