"""The names of the file-transfer messages on the "ctl" channel (protocol/transfer.py parses
them), apart so that a session listens for them before their parsers have loaded."""

OFFER = "file-offer"
ACCEPT = "file-accept"
DECLINE = "file-decline"
CANCEL = "file-cancel"
