"""Residents Hub: the `hub` command line, typed settings and the wiring of adapters."""
