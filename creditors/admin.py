from django.contrib import admin

from creditors.models import Batch, Creditor


@admin.register(Creditor)
class CreditorAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "vat_number"]
    search_fields = ["code", "name", "vat_number"]


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ["code", "creditor", "assigned_on", "returned_on", "kind", "state"]
    list_filter = ["creditor", "kind", "state"]
    search_fields = ["code"]
    raw_id_fields = ["created_job"]
