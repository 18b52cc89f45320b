"""Checking answers: answers files, verdicts with follow-through, likely causes, reports."""
