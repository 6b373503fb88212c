from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import AuditEvent, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active", "is_superuser"]
    filter_horizontal = ["creditors", "groups", "user_permissions"]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("Agency"), {"fields": ("role", "creditors")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Agency"), {"fields": ("role", "creditors")}),
    )


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail is evidence: it can be read here, never edited or deleted."""

    list_display = ["at", "user", "action", "object_type", "object_id", "summary"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "user__username"]
    list_select_related = ["user"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
