"""Prometheus metrics, the Grafana dashboard and alert rules."""
