"""A seeded generator of realistic RAPID job folders, running real ZOGY and SFFT on simulated pixels."""
