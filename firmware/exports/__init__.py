"""Exports for the tax office (device code): DSFinV-K, the TSE's TAR, the ELSTER notification."""
