"""Flash sales as the API reads and answers them."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import ValidationError

from blueprints.core.fields import Field, Moment, Schema, SiteUrl, Text, WholeNumber, length_of
from blueprints.core.i18n import money
from blueprints.core.openapi import ErrorSchema
from blueprints.reminders.schemas import ReminderRunSchema
from models import SeckillActivity

MAX_STOCK = 1_000_000
MAX_PRICE_CENTS = 100_000_000
STATES = ["upcoming", "open", "paused", "sold_out", "ended", "closed"]


class Cents(Field, ma.fields.Integer):
    """A price in cents; the message speaks yuan, as the form does."""

    def __init__(self, **kwargs) -> None:
        super().__init__(strict=True, validate=ma.validate.Range(1, MAX_PRICE_CENTS), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 1 <= value <= MAX_PRICE_CENTS
        ):
            raise ValidationError(f"must be between {money(1)} and {money(MAX_PRICE_CENTS)}.")
        return value

    def _validate(self, value) -> None:
        pass  # _deserialize has said it, in yuan; the Range is for the document


class SaleInputSchema(Schema):
    """A new sale needs every field but the optional ones; an edit (partial) any."""

    title = Text(required=True, max_length=length_of(SeckillActivity.title), label="The title")
    product = Text(required=True, max_length=length_of(SeckillActivity.product),
                   label="The product")  # fmt: skip
    description = Text(
        blank=True, max_length=length_of(SeckillActivity.description), label="The description"
    )
    image_url = SiteUrl(max_length=length_of(SeckillActivity.image_url), allow_none=True,
                        label="The picture address")  # fmt: skip
    price_cents = Cents(required=True, label="The price")
    regular_price_cents = Cents(
        allow_none=True, label="The regular price",
        metadata={"description": "above price_cents; null for none"},
    )  # fmt: skip
    total_stock = WholeNumber(1, MAX_STOCK, required=True, label="The stock")
    starts_at = Moment(required=True, label="The start",
                       metadata={"description": "without an offset, in TIMEZONE"})  # fmt: skip
    ends_at = Moment(required=True, label="The end")


class SaleSchema(Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    product = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    image_url = ma.fields.String(required=True, allow_none=True)
    price_cents = ma.fields.Integer(required=True)
    regular_price_cents = ma.fields.Integer(required=True, allow_none=True)
    total_stock = ma.fields.Integer(required=True)
    starts_at = Moment(required=True)
    ends_at = Moment(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(["active", "closed"]))


class PublicSaleSchema(SaleSchema):
    stock_left = ma.fields.Integer(required=True, allow_none=True)
    state = ma.fields.String(required=True, validate=ma.validate.OneOf(STATES),
                             metadata={"description": "what a shopper sees now"})  # fmt: skip


class SaleRemindersSchema(Schema):
    subscribers = ma.fields.Integer(required=True)
    last_run = ma.fields.Nested(ReminderRunSchema, required=True, allow_none=True)


class SaleOverviewSchema(PublicSaleSchema):
    orders = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)
    sold = ma.fields.Integer(required=True)
    stock_drift = ma.fields.Integer(required=True, allow_none=True)
    reminders = ma.fields.Nested(SaleRemindersSchema, required=True)


class SaleAnswerSchema(Schema):
    sale = ma.fields.Nested(SaleOverviewSchema, required=True)
    warning = ma.fields.String(metadata={"description": "saved, but not live yet"})


class SalesSchema(Schema):
    sales = ma.fields.List(ma.fields.Nested(SaleOverviewSchema), required=True)


class ActivitiesSchema(Schema):
    activities = ma.fields.List(ma.fields.Nested(PublicSaleSchema), required=True)
    server_time = Moment(required=True)


class ActivitySchema(Schema):
    activity = ma.fields.Nested(PublicSaleSchema, required=True)
    server_time = Moment(required=True)


class OrderSchema(Schema):
    id = ma.fields.Integer(required=True)
    activity_id = ma.fields.Integer(required=True)
    user_id = ma.fields.Integer(required=True)
    seckill_id = ma.fields.String(required=True, attribute="reservation_id")
    status = ma.fields.String(
        required=True, validate=ma.validate.OneOf(["pending_payment", "paid", "cancelled"])
    )
    amount_cents = ma.fields.Integer(required=True)
    reserved_at = Moment(required=True)
    created_at = Moment(required=True)
    paid_at = Moment(required=True, allow_none=True)
    cancelled_at = Moment(required=True, allow_none=True)
    pay_by = Moment(required=True, allow_none=True,
                    metadata={"description": "unpaid by then, it is cancelled"})  # fmt: skip


class OrderAnswerSchema(Schema):
    order = ma.fields.Nested(OrderSchema, required=True)


class BuyerOrderSchema(OrderSchema):
    buyer = ma.fields.String(required=True, allow_none=True)


class OrdersSchema(Schema):
    orders = ma.fields.List(ma.fields.Nested(BuyerOrderSchema), required=True)


class PurchaseSchema(Schema):
    seckill_id = ma.fields.String(required=True)
    order = ma.fields.Nested(OrderSchema, required=True, allow_none=True)


class PurchaseAnswerSchema(Schema):
    purchase = ma.fields.Nested(PurchaseSchema, required=True, allow_none=True)


class ReservationSchema(Schema):
    seckill_id = ma.fields.String(required=True)
    confirmed = ma.fields.Boolean(required=True)


class AlreadyBoughtSchema(ErrorSchema):
    seckill_id = ma.fields.String(metadata={"description": "that purchase"})


class ResultSchema(Schema):
    code = ma.fields.Integer(required=True, metadata={"description": "100 ordered, 101 timed out"})
    message = ma.fields.String(required=True)
    order_id = ma.fields.Integer()
