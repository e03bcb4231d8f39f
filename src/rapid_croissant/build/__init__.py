"""build subpackage."""
