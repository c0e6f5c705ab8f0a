"""The outside systems communications talks to: WhatsApp providers, telephony, the secret box."""
