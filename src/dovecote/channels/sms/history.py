"""SMS history: an account's messages in both directions, and its CSV export.

An export is not a stored file: `export_link` signs the query (who, which filters,
until when) into a URL, and opening that URL streams the CSV straight from the
database. Nothing to clean up, and a link cannot be widened by editing it. SMS's links
sign no `kind` (they predate it), so another channel's link is refused here.
"""

from __future__ import annotations

from dovecote.pipeline import history

HISTORY = history.ChannelHistory(
    channel="sms",
    export_path="/v3/sms/history/export/download",
    default_filename="sms-history.csv",
    kind=None,
)

export_link = HISTORY.export_link
