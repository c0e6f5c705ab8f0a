"""Identity adapters: password hashing, access-token codec, TOTP and Google sign-in."""
