"""Textual widgets and screens. They render model objects and handle keys; they never import BCC."""
