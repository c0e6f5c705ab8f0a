"""Adapters of the communications ports: WhatsApp (Meta Cloud API, AiSensy), Exotel, AES-GCM,
the jinja2 sandbox of email templates."""
