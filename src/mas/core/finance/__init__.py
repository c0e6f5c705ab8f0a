"""Finance: the payment mirror, GST invoices, the audit chain, reports (payments-finance.md)."""
