from django.contrib import admin

from cases.models import Case, CaseParty, Debtor, Installment


class CasePartyInline(admin.TabularInline):
    model = CaseParty
    extra = 0
    raw_id_fields = ["debtor"]


class InstallmentInline(admin.TabularInline):
    model = Installment
    extra = 0
    fields = ["number", "due_date", "amount", "payment_method", "status", "fees", "unpaid_on"]


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["contract_number", "creditor", "batch", "state", "assignee", "needs_attention"]
    list_filter = ["creditor", "state", "needs_attention"]
    list_select_related = ["creditor", "batch", "assignee"]
    search_fields = ["contract_number"]
    # Select boxes over every batch, case or import job would load whole tables.
    raw_id_fields = ["batch", "assignee", "previous", "created_job"]
    inlines = [CasePartyInline, InstallmentInline]


@admin.register(Debtor)
class DebtorAdmin(admin.ModelAdmin):
    list_display = ["name", "tax_code", "kind", "birth_date"]
    list_filter = ["kind"]
    search_fields = ["name", "=tax_code"]
    raw_id_fields = ["created_job"]
