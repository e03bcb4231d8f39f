"""rapid-croissant: RAPID ZOGY/SFFT difference-imaging jobs -> an AI-ready, Croissant-described dataset."""

__version__ = "0.1.0"
