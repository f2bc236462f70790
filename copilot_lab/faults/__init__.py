"""Fault types, one file each, found by name through :data:`copilot_lab.faults.base.FAULTS`."""
