"""Meta's business account for the manager's account page: the WABA and its phone numbers."""

from __future__ import annotations

import httpx
import pytest

from mas.adapters.comms.whatsapp.meta import MetaCloudProvider
from mas.core.comms.ports.whatsapp import ProviderRejected


def graph(request: httpx.Request) -> httpx.Response:
    assert request.headers["Authorization"] == "Bearer token"
    if request.url.path == "/v21.0/waba-1":
        return httpx.Response(200, json={"id": "waba-1", "name": "MAS"})
    if request.url.path == "/v21.0/waba-1/phone_numbers":
        number = {
            "id": "pn-1",
            "display_phone_number": "+91 98000 00001",
            "verified_name": "MAS",
            "quality_rating": "GREEN",
        }
        return httpx.Response(200, json={"data": [number, {"no": "id"}]})
    return httpx.Response(400, json={"error": {"code": 100, "message": "unknown path"}})


def provider(handler: object, waba: str = "waba-1") -> MetaCloudProvider:
    return MetaCloudProvider(
        access_token="token",
        phone_number_id="pn-1",
        waba_id=waba,
        app_secret="s",
        verify_token="v",
        base_url="https://graph.test",
        http=httpx.AsyncClient(transport=httpx.MockTransport(handler)),  # type: ignore[arg-type]
    )


async def test_the_account_lists_the_phone_numbers() -> None:
    account = await provider(graph).account()
    assert (account.provider, account.account_id, account.name) == ("META", "waba-1", "MAS")
    assert [(n.id, n.quality_rating) for n in account.phone_numbers] == [("pn-1", "GREEN")]


async def test_a_refusal_is_the_providers_verdict() -> None:
    with pytest.raises(ProviderRejected, match="unknown path"):
        await provider(graph, waba="other").account()
