"""Payout gateways (RazorpayX)."""
