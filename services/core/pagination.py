"""The portal's one pagination convention: `?page=&per_page=`, answered with `total`."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


class PageQuerySchema(Schema):
    """Query arguments of every paginated list; services extend it with their filters."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(
        load_default=DEFAULT_PER_PAGE, validate=validate.Range(min=1, max=MAX_PER_PAGE)
    )
