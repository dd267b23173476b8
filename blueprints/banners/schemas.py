"""Banners as the API reads and answers them."""

from __future__ import annotations

import marshmallow as ma

from blueprints.core.fields import (
    Field,
    Flag,
    Problem,
    Schema,
    SiteUrl,
    Text,
    WholeNumber,
    length_of,
)
from models import Banner

MAX_POSITION = 1_000_000


class BannerSchema(Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    image_url = ma.fields.String(required=True)
    link_url = ma.fields.String(required=True, allow_none=True)
    position = ma.fields.Integer(required=True)
    is_show = ma.fields.Boolean(required=True)


class BannersSchema(Schema):
    banners = ma.fields.List(ma.fields.Nested(BannerSchema), required=True)


class BannerAnswerSchema(Schema):
    banner = ma.fields.Nested(BannerSchema, required=True)


class BannerInputSchema(Schema):
    """A new banner needs a title and a picture; an edit (partial) any of these."""

    title = Text(max_length=length_of(Banner.title), required=True, label="The title")
    image_url = SiteUrl(max_length=length_of(Banner.image_url), required=True,
                        label="The picture address")  # fmt: skip
    link_url = SiteUrl(max_length=length_of(Banner.link_url), allow_none=True, label="The link")
    position = WholeNumber(0, MAX_POSITION, label="The position")
    is_show = Flag(label="Shown")


class BannerIds(Field, ma.fields.List):
    """Every live banner's id once; the service checks that they are all there."""

    def __init__(self, **kwargs) -> None:
        problem = Problem("must list every banner's id exactly once.", "invalid_order")
        messages = {key: problem for key in ("invalid", "null", "required")}
        super().__init__(ma.fields.Integer(strict=True), error_messages=messages, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list) or any(isinstance(i, bool) for i in value):
            raise self.make_error("invalid")
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ma.ValidationError:
            raise self.make_error("invalid") from None


class BannerOrderSchema(Schema):
    ids = BannerIds(required=True, label="'ids'")
