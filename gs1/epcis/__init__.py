"""TODO: map this package."""
