"""Eviction policies for the runtime page cache: one file each, found by name."""
