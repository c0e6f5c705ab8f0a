"""Reading the account a service acts on."""

from __future__ import annotations

import uuid

from mas.core.identity.model import User
from mas.core.identity.ports import IdentityUnitOfWork
from mas.core.platform.errors import NotFound


async def existing_user(uow: IdentityUnitOfWork, user_id: uuid.UUID) -> User:
    """The account, unless it is missing or deleted (``NotFound``, ``user_not_found``)."""
    user = await uow.users.get(user_id)
    if user is None or user.is_deleted:
        raise NotFound("no such user", code="user_not_found")
    return user
