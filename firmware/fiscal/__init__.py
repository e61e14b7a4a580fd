"""Fiscal formats of the KassenSichV and DSFinV-K (pure domain, device code): the processData
the TSE signs (``processdata``) and the receipt's QR code (``qr``). The TSE driver signs the
bytes it is given and knows nothing of these."""
