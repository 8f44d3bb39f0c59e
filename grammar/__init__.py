"""The csvdsl grammar, shipped as package data (installed as ``csvdsl._grammar``)."""
