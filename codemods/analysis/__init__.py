"""Analyses that commands run before rewriting: gather-style visitors, testable on their own."""
