"""Home page banners, served from the interface cache, and their admin."""

from blueprints.banners.views import bp

__all__ = ["bp"]
