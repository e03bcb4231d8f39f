"""writers subpackage."""
