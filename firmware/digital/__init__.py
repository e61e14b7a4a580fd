"""The digital receipt (device code): the receipt as a document, sealed for the customer's phone,
queued for the receipt server; loyalty accounts."""
