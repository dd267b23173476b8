"""Home page banners, served from the interface cache, and their admin."""

from blueprints.banners.api import blp
from blueprints.banners.pages import bp

__all__ = ["blp", "bp"]
