"""Metrics (Prometheus text format) and optional OpenTelemetry traces.

``metrics``: the process's families (HTTP, jobs, cache, database pool) and where they live when
several processes serve one port (``multiprocess``); ``facts``: what the database knows (outbox
backlog, queue depth, dead letters), read at scrape time; ``exposition``: one scrape.
``tracing``: OTLP spans, imported only when ``MAS_OTEL_ENDPOINT`` is set.
"""
