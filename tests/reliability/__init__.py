"""Reliability, load and hostile-input tests: faults, floods and junk the product must survive."""
