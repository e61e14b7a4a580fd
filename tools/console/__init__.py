"""The technician's client for the terminal's service console (``python -m tools.console``)."""
