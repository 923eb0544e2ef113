"""The portal's settings (`BOUQUET_*`)."""

from bouquet.foundation.settings import Settings, SettingsError, load_settings

__all__ = ["Settings", "SettingsError", "load_settings"]
