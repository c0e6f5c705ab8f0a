"""PDF renderers (invoice PDFs with fpdf2)."""
