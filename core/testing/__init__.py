"""Test support for connector authors: the conformance suite and its pytest plugin."""
