"""Prometheus metrics of the portal (served at `/metrics`).

With several workers on one host, set PROMETHEUS_MULTIPROC_DIR so they share one view.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("bouquet_http_requests_total", "HTTP requests", ["method", "route", "status"])
REQUEST_SECONDS = Histogram("bouquet_http_request_seconds", "HTTP request latency", ["method", "route"])
HOOK_SECONDS = Histogram("bouquet_hook_seconds", "Time spent in plugin hook implementations", ["plugin", "hook"])
HOOK_FAILURES = Counter("bouquet_hook_failures_total", "Plugin hook implementations that raised", ["plugin", "hook"])


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus text format, merged across workers when multiprocess mode is on."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
