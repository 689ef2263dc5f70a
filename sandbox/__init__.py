"""The offline Stripe sandbox: an emulator of the part of Stripe fcops uses (see README.md)."""
