"""Faust stream processors: validate -> match -> cluster -> household -> publish."""
