"""Adapters of the realtime ports: the room store in memory and on NATS KV."""
