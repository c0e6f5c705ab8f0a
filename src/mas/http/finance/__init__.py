"""Finance routes (payments-finance.md §5): FINANCE and ADMIN on /api/finance/*."""
