"""Image loaders: how a mount gets file bytes. One file each, found by name (see ``base``)."""
