"""Tables paged at the size each page chooses.

django-tables2 reads a page size from the address (`?per_page=`): a negative one fails, and a
huge one would load a whole list in one page. Incasso's pages keep their own size; the page
number and the ordering are still read from the address.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import EmptyPage
from django.http import HttpRequest
from django_tables2 import RequestConfig, SingleTableMixin, Table


class FixedPageSize(RequestConfig):
    """A RequestConfig that takes the page and the ordering from the request, not the size.
    A page out of range or not a number shows the nearest page."""

    def __init__(self, request: HttpRequest, per_page: int) -> None:
        super().__init__(request, paginate={"per_page": per_page})
        self.per_page = per_page

    def configure(self, table: Table) -> Table:
        table.request = self.request
        order_by = self.request.GET.getlist(table.prefixed_order_by_field)
        if order_by:
            table.order_by = order_by
        try:
            page = int(self.request.GET.get(table.prefixed_page_field, 1))
        except ValueError:
            page = 1
        try:
            table.paginate(page=max(page, 1), per_page=self.per_page)
        except EmptyPage:
            table.page = table.paginator.page(table.paginator.num_pages)
        return table


class FixedPageSizeMixin(SingleTableMixin):
    """SingleTableMixin with `table_pagination = {"per_page": n}` kept whatever the address."""

    def get_table(self, **kwargs: Any) -> Table:
        table = self.get_table_class()(data=self.get_table_data(), **kwargs)
        per_page = (self.get_table_pagination(table) or {}).get("per_page", 25)
        return FixedPageSize(self.request, per_page).configure(table)
