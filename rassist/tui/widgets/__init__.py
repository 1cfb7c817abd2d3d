"""The panes of the rassist TUI. Each takes attributes down from the app and posts messages up."""
