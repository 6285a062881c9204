"""Rendered files: pure functions of the plan. Components install exactly these files,
and the network lab executes exactly these files."""
