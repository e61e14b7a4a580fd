"""The TSE service (host code): a SIGN DE v2-style API in front of TSE cards (tseservice/api.py),
the store's one card shared by its registers (tseservice/share.py)."""
