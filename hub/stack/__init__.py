"""The local stack: Kafka, Redis and PostgreSQL as our own processes, without Docker."""
