"""The microSD TSE card emulator: a faithful TSE behind the Swissbit-style file mailbox.

- ``der``: TR-03151 log messages in exact DER, signed over the DTBS (reference/TSE.md §1)
- ``pki``: the card's key pair and certificate chain (root -> sub-CA -> TSE certificate)
- ``store``: state and log store that survive power cuts
- ``card``: the controller: TR-03151 semantics behind the mailbox commands
- ``tar``: the TAR export (reference/TSE.md §2)
- ``image``: the FAT volume with the mailbox files, as a block device with fault injection
- ``server``: NBD and control endpoints (``python -m tools.tse card serve``)
"""
