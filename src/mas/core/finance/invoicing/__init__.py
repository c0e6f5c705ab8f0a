"""GST invoicing: the tax arithmetic, GSTIN checks and invoice numbers (pure rules)."""
