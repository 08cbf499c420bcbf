"""The Flask family-support dashboard (a later issue)."""
