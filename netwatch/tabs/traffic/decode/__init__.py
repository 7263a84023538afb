"""What the Traffic probe's maps hold, decoded to rows: per-CPU hot slots (hot_rows) and
per-connection counts (connections)."""
