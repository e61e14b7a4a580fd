"""QR payments (device code): EMVCo merchant- and consumer-presented codes, the EPC GiroCode,
wallet tokens and the wallet host's client."""
