"""The payment mirror: every gateway payment once, whatever sees it first (pure rules)."""
