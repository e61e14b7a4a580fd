"""The register's domain, pure and without I/O: master data, the receipt being rung up, VAT.

Fiscal names follow DSFinV-K exactly (``BON_TYP``, ``GV_TYP``, ``ZAHLART_TYP``, USt-Schlüssel)
so the journal, the receipt and the export speak the same language.
"""
