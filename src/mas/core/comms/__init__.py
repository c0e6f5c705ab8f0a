"""Communications: email, in-app notifications, WhatsApp and telephony (communications.md).

The domain every other domain sends through. Built in parts: the provider ports come first.
"""
