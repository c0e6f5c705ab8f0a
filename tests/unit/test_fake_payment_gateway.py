"""The in-process payment gateway `make run` uses: a browser that signs a payment id of its
own choosing has paid, as far as the gateway knows (fetch and list see it), so the demo's
purchases reach the finance mirror like real ones."""

from __future__ import annotations

from mas.adapters.fakes.payments import FakeGateway
from mas.core.platform.ports.payments import PaymentStatus, checkout_signature


async def test_a_signed_payment_becomes_known_and_a_forged_one_does_not() -> None:
    gateway = FakeGateway()
    order = await gateway.create_order(70000, "INR", "rcpt-1", {"tokenPurchaseId": "p"})
    forged = "0" * 64
    assert not gateway.verify_checkout_signature(order.id, "pay_demo_1", forged)
    assert "pay_demo_1" not in gateway.payments
    signature = checkout_signature(gateway.key_secret, order.id, "pay_demo_1")
    assert gateway.verify_checkout_signature(order.id, "pay_demo_1", signature)
    paid = await gateway.fetch_payment("pay_demo_1")
    assert (paid.status, paid.amount_paise, paid.order_id) == (
        PaymentStatus.CAPTURED,
        70000,
        order.id,
    )
    assert paid.notes == {"tokenPurchaseId": "p"}
    assert gateway.verify_checkout_signature(order.id, "pay_demo_1", signature)
    assert len(gateway.payments) == 1
