"""Tokens: the wallet and its ledger, purchases, promotional grants, allotments, mentor
earnings and payouts (tokens-earnings.md). Money is integer paise; tokens are integers.

Three parts: ``wallet`` (wallets, the append-only ledger, grants, allotment requests, the drift
check, and ``Purse``, the public interface other domains spend and refund through inside their
own unit of work), ``purchases`` (token packs bought through the ``PaymentPort``) and
``earnings`` (mentor earnings, withdrawals, payouts through the ``PayoutPort``).
"""

from __future__ import annotations
