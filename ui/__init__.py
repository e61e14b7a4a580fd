"""Operator screens, customer display and input mapping (state -> scene).

Device code; see ../docs/development.md for the runtime rule.
"""
