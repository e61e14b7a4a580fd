"""Audit tools (host): verify TSE exports and receipt QR codes; later the DSFinV-K checker."""
