"""WhatsApp providers: Meta's Cloud API (``meta``) and AiSensy (``aisensy``), over httpx."""
