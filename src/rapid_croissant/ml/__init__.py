"""ml subpackage."""
