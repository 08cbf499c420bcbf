"""The pure identity-matching core (no Kafka, Redis, SQL or Splink) and the one Splink adapter."""
