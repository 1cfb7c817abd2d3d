"""What a host can grant a joiner. Chat is always allowed."""

PERMISSIONS = ("view", "control", "files", "annotate")
