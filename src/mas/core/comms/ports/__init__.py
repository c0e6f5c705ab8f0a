"""The outside systems communications talks to: WhatsApp providers, telephony, the secret box;
and the template engine of editable email templates."""
