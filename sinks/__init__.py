"""Sinks: the SQL store, Redis identity state and the case-management system."""
