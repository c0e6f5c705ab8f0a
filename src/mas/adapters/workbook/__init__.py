"""Spreadsheets the finance team downloads (``WorkbookPacker``: XLSX in an AES-256 zip)."""
