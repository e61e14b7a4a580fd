"""The receipt server (host code): it keeps the sealed digital receipts the terminals upload and
hands them to the customer's page; it never sees a key."""
