"""Benchmarks for Hongxian: a seeded synthetic corpus, the textbook baseline, and our own stack.

Run ``python -m bench --help`` from the checkout.
"""
