"""Ports: the Protocols core use cases depend on. Adapters implement them."""
