"""Implementations of the ``Cache`` port: in-process memory and NATS JetStream KV."""
