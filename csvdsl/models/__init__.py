"""Talking to models: the client, the agent loop, constrained decoding and `csvdsl ask`."""
