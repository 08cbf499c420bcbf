"""The source side: publisher, snapshot-diff CDC and the council simulator."""
