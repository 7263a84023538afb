"""Pure decoders: the bytes and per-CPU slots the BPF programs leave in their maps and ring
buffers, turned into model values. Each knows its program's C layout, and nothing of BCC, the
kernel's files or a screen, so each is tested byte for byte without root."""
