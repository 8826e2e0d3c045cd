"""Admin pages for labs, their links and users."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from admin.account.models import Lab, LabRelation, User
from core.admin import BaseModelAdmin


@admin.register(Lab)
class LabAdmin(BaseModelAdmin):
    list_display = ("name", "time_zone", "language", "digits", "country", "is_active")
    search_fields = ("name",)


@admin.register(LabRelation)
class LabRelationAdmin(BaseModelAdmin):
    list_display = ("parent_lab", "child_lab")
    list_select_related = ("parent_lab", "child_lab")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (
        *DjangoUserAdmin.fieldsets,  # type: ignore[misc]
        ("Lab", {"fields": ("kind", "lab")}),
    )
    list_display = ("username", "kind", "lab", "is_staff")
    list_filter = ("kind", "lab")
