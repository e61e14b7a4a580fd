"""The EMV kernel (device code, sans-I/O): BER-TLV (``tlv``), data object lists (``dol``),
command APDUs and the T=0 exchange (``apdu``), application selection (``selection``), the
terminal's EMV configuration (``config``), and ``runner``, which feeds a step a card reader's
answers."""
