"""microSD TSE driver: mailbox protocol (sans-I/O), transports, SE-API client, TSE service.

Device code; see ../docs/development.md for the runtime rule.
"""
