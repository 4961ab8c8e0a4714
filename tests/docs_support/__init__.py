"""Helpers for tests/test_docs_examples.py: reading the README apart and serving its examples' world."""
