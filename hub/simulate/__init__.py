"""Simulation of training data (needs the ``train`` extra: msprime, tskit)."""
