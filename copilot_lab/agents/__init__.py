"""Diagnosis agents, one file each, found by name through :data:`copilot_lab.agents.base.AGENTS`."""
