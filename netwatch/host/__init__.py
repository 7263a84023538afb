"""Facts about this host's processes and users, read from /proc and the password database."""
