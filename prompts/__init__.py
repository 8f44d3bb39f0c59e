"""Model-facing texts, shipped as package data (installed as ``csvdsl._prompts``)."""
