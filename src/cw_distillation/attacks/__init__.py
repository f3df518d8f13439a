"""Adversarial attacks: the C&W L0 / L2 / L-infinity attacks and the earlier ones they are compared with."""
