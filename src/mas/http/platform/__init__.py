"""The platform's routes: health, the job ledger and the outbox.

``Platform`` is the dependency a handler takes to reach the domain's services (and only them).
"""

from litestar.di import NamedDependency

from mas.core.platform.services import PlatformServices

Platform = NamedDependency[PlatformServices]
