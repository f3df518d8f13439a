"""Replication of Carlini & Wagner (S&P 2017), Section VIII: evaluating defensive distillation."""

__version__ = "0.1.0"
