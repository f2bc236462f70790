"""Routing policies, one file each, found by name through :data:`llm_la_lab.policies.base.POLICIES`."""
