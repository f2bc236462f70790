"""Shared test fixtures. Lab-specific fixtures live in each lab's tests/<lab>/conftest.py."""
