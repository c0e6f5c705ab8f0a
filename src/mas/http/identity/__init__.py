"""Identity's routes: sign-in and accounts, the admin's user management, vendor keys.

``Identity`` is the dependency a handler takes to reach the domain's services (and only them).
"""

from litestar.di import NamedDependency

from mas.core.identity.services import IdentityServices

Identity = NamedDependency[IdentityServices]
