"""Avro schemas (.avsc), one per event type; this package only locates them."""

from pathlib import Path

SCHEMA_DIR = Path(__file__).parent
