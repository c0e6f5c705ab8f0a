"""Payment gateway adapters (the ``PaymentPort``): Razorpay."""
