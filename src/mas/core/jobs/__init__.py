"""The job ledger: one ``job_runs`` row per task run, idempotency, retries, dead runs."""
