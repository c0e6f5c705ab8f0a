"""The tokens manifest: the wallet and ledger, purchases, mentor earnings and payouts.

Split by part like communications' (``wallet``, ``purchases``, ``earnings``): each part module
names its tables, repositories, controllers and system mails and builds its services; this
module assembles the one ``Module``. The purchases and earnings parts move tokens through the
wallet's ``Purse`` (``c.tokens.wallet.purse`` is also the public interface the mentorship domain
holds and refunds through, inside its own unit of work), so the wallet part is built first.
It provides the ``balances`` port (one's token balance) to every domain: identity, listed
before tokens, shows it on ``GET /api/user-details``.
"""

from __future__ import annotations

from mas.core.tokens.handlers import CRONS, HANDLERS, SUBSCRIPTIONS
from mas.core.tokens.services import TokensServices
from mas.modules.base import Module
from mas.modules.container import Container
from mas.modules.tokens import earnings, purchases, wallet

PARTS = (wallet, purchases, earnings)


def build(c: Container) -> TokensServices:
    wallet_services = wallet.build(c)
    return TokensServices(
        wallet=wallet_services,
        purchases=purchases.build(c, wallet_services),
        earnings=earnings.build(c, wallet_services),
    )


MODULE = Module(
    name="tokens",
    services=TokensServices,
    build=build,
    tables=[ref for part in PARTS for ref in part.TABLES],
    repositories={name: repo for part in PARTS for name, repo in part.REPOSITORIES.items()},
    handlers=HANDLERS,
    crons=CRONS,
    subscriptions=SUBSCRIPTIONS,
    controllers=[ref for part in PARTS for ref in part.CONTROLLERS],
    mail_templates={name: t for part in PARTS for name, t in part.MAIL_TEMPLATES.items()},
    cli={"tokens": "mas.cli.tokens:app"},
    provides={"balances": wallet.balances},
)
