"""Payments: EMV kernel and TLV, ZVT (ECR side), QR payments, acquirer link.

Device code; see ../docs/development.md for the runtime rule.
"""
