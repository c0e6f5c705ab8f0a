"""The CRM's routes: leads, campaigns and tags, imports and vendor intake, assignment.

``Crm`` is the dependency a handler takes to reach the domain's services (and only them).
"""

from litestar.di import NamedDependency

from mas.core.crm.services import CrmServices

Crm = NamedDependency[CrmServices]
