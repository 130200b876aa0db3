"""Files over HTTP, the same for the API and the pages: how large a sealed bid's upload may
be, and how a download names its file."""

from __future__ import annotations

from urllib.parse import quote

from bidding.bids.submission import MAX_CIPHERTEXT_SIZE

# The ciphertext limit plus room for the envelope and the multipart framing.
MAX_BID_REQUEST_SIZE = MAX_CIPHERTEXT_SIZE + 1024 * 1024


def attachment(filename: str) -> str:
    """A Content-Disposition naming the file (RFC 6266/5987: ASCII fallback, UTF-8 name)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
