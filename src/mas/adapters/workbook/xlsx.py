"""``WorkbookPacker``: an XLSX written by openpyxl, inside a zip encrypted with AES-256.

The spec's output is "XLSX inside an AES-256 zip" (payments-finance.md §3 FinanceExport), so the
workbook is written with openpyxl's write-only mode (rows stream into the file, memory stays
flat) and zipped by pyzipper with WinZip AES encryption at 256 bits, which 7-Zip, WinZip,
Keka and ``unzip``-compatible tools with AES support open. (Encrypting the XLSX itself with
msoffcrypto-tool would let Excel prompt for the password directly, but it is not the
documented format and keeps a single layer of protection either way.) The CPU-bound work runs
in a thread so the event loop keeps serving. openpyxl and pyzipper are imported by the first
export, not with the app (tests/unit/test_import_budget.py).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence

from mas.core.finance.reports.model import Sheet

MAX_TITLE = 31
"""Excel's limit on a sheet's name."""


def xlsx(sheets: Sequence[Sheet]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for sheet in sheets:
        page = book.create_sheet(title=sheet.title[:MAX_TITLE])
        page.append(sheet.header)
        for row in sheet.rows:
            page.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def protected_zip(files: dict[str, bytes], password: str) -> bytes:
    import pyzipper

    out = io.BytesIO()
    with pyzipper.AESZipFile(
        out, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as archive:
        archive.setpassword(password.encode())
        archive.setencryption(pyzipper.WZ_AES, nbits=256)
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def pack(filename: str, sheets: Sequence[Sheet], password: str) -> bytes:
    return protected_zip({filename: xlsx(sheets)}, password)


class XlsxZipPacker:
    async def pack(self, filename: str, sheets: Sequence[Sheet], password: str) -> bytes:
        return await asyncio.to_thread(pack, filename, sheets, password)
