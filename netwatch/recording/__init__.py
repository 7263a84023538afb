"""Recording files: the format, its checked codec, replaying one by a shared clock."""
