"""The GST state-code master's seed (payments-finance.md §3 GstStateCode), from the public GST
code list. UTGST applies in the union territories without a legislature; Delhi, Puducherry
and Jammu & Kashmir levy SGST."""

from __future__ import annotations

from mas.core.finance.invoicing.model import StateCodeRow

_ROWS: tuple[tuple[str, str, bool, bool], ...] = (
    ("01", "Jammu and Kashmir", True, False),
    ("02", "Himachal Pradesh", False, False),
    ("03", "Punjab", False, False),
    ("04", "Chandigarh", True, True),
    ("05", "Uttarakhand", False, False),
    ("06", "Haryana", False, False),
    ("07", "Delhi", True, False),
    ("08", "Rajasthan", False, False),
    ("09", "Uttar Pradesh", False, False),
    ("10", "Bihar", False, False),
    ("11", "Sikkim", False, False),
    ("12", "Arunachal Pradesh", False, False),
    ("13", "Nagaland", False, False),
    ("14", "Manipur", False, False),
    ("15", "Mizoram", False, False),
    ("16", "Tripura", False, False),
    ("17", "Meghalaya", False, False),
    ("18", "Assam", False, False),
    ("19", "West Bengal", False, False),
    ("20", "Jharkhand", False, False),
    ("21", "Odisha", False, False),
    ("22", "Chhattisgarh", False, False),
    ("23", "Madhya Pradesh", False, False),
    ("24", "Gujarat", False, False),
    ("26", "Dadra and Nagar Haveli and Daman and Diu", True, True),
    ("27", "Maharashtra", False, False),
    ("29", "Karnataka", False, False),
    ("30", "Goa", False, False),
    ("31", "Lakshadweep", True, True),
    ("32", "Kerala", False, False),
    ("33", "Tamil Nadu", False, False),
    ("34", "Puducherry", True, False),
    ("35", "Andaman and Nicobar Islands", True, True),
    ("36", "Telangana", False, False),
    ("37", "Andhra Pradesh", False, False),
    ("38", "Ladakh", True, True),
    ("97", "Other Territory", True, False),
)

SEED: tuple[StateCodeRow, ...] = tuple(
    StateCodeRow(code=code, name=name, is_union_territory=ut, uses_utgst=utgst)
    for code, name, ut, utgst in _ROWS
)

DEFAULT_SAC = "999293"
"""Commercial training and coaching services, 18 % (the rate master's designed seed)."""
