"""A plugin that raises while being imported."""

raise ImportError("this plugin cannot be imported")
