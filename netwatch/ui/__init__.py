"""The full-screen app: the host of the screens, the terminal and every way out, snapshots,
and the read workers."""
