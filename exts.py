"""Extension objects, created unbound; ``create_app`` binds them."""

from __future__ import annotations

from flask_babel import Babel
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from blueprints.core.internals import TimedMail
from blueprints.core.redis_client import RedisClient


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
mail = TimedMail()
babel = Babel()
# Flask-Caching: the sale pages' one-second snapshots (the interface cache is blueprints/caching).
snapshots = Cache()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address)
redis_client = RedisClient()
talisman = Talisman()
