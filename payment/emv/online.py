"""What the kernel asks of the acquirer and what it gets back (device code): small on purpose,
so the acquirer link loads without the kernel.

    answer = yield GoOnline(icc, fields, pan, expiry, psn, contactless, refund)   # in the kernel
    HostAnswer(approved, arc, issuer_auth, scripts, auth_code, trace)    # from the link
"""


class GoOnline:
    """The step asks the acquirer: ``icc`` is the DE 55 data (BER-TLV), ``fields`` by tag,
    ``pan`` the card number (for DE 2, sent and never kept), ``expiry`` YYMM, ``psn`` the PAN
    sequence number (or None), ``contactless`` the entry mode, ``refund``: money back to the
    card (the link sends a refund, not an authorisation)."""

    def __init__(self, icc, fields, pan="", expiry="", psn=None, contactless=False, refund=False):
        self.refund = refund
        self.pin_block = None  # an online PIN, enciphered by the PIN pad (ISO 9564 format 0)
        self.icc = icc
        self.fields = fields
        self.pan = pan
        self.expiry = expiry
        self.psn = psn
        self.contactless = contactless


class HostAnswer:
    """The acquirer's answer: ``approved``, the response code ``arc`` (2 ASCII bytes, ``8A``),
    the issuer authentication data ``91`` (or None), issuer scripts ``71``/``72`` (bytes), the
    approval code (DE 38) and the trace number the request went with (DE 11)."""

    def __init__(self, approved, arc, issuer_auth=None, scripts=b"", auth_code="", trace=""):
        self.approved = approved
        self.auth_code = auth_code
        self.trace = trace
        self.arc = arc
        self.issuer_auth = issuer_auth
        self.scripts = scripts
