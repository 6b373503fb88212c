"""What the cases API shows: money as decimal strings, dates as ISO dates, codes not labels."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import User
from cases.models import (
    Address,
    Case,
    CaseParty,
    Contact,
    Debtor,
    Installment,
    Note,
    Payment,
    PaymentAllocation,
    PaymentChannel,
    PaymentEvent,
    PaymentState,
)
from creditors.models import Batch, Creditor


class CreditorSerializer(serializers.ModelSerializer[Creditor]):
    class Meta:
        model = Creditor
        fields = ["id", "code", "name"]


class AddressSerializer(serializers.ModelSerializer[Address]):
    class Meta:
        model = Address
        fields = ["id", "street", "postcode", "city", "province", "source"]


class ContactSerializer(serializers.ModelSerializer[Contact]):
    class Meta:
        model = Contact
        fields = ["id", "kind", "value", "source"]


class DebtorSerializer(serializers.ModelSerializer[Debtor]):
    addresses = AddressSerializer(many=True, read_only=True)
    contacts = ContactSerializer(many=True, read_only=True)

    class Meta:
        model = Debtor
        fields = ["id", "kind", "name", "tax_code", "birth_date", "addresses", "contacts"]


class CasePartySerializer(serializers.ModelSerializer[CaseParty]):
    debtor = DebtorSerializer(read_only=True)

    class Meta:
        model = CaseParty
        fields = ["role", "debtor"]


class InstallmentSerializer(serializers.ModelSerializer[Installment]):
    class Meta:
        model = Installment
        fields = [
            "id",
            "number",
            "due_date",
            "amount",
            "payment_method",
            "status",
            "fees",
            "unpaid_on",
        ]


class PaymentSerializer(serializers.ModelSerializer[Payment]):
    class Meta:
        model = Payment
        fields = ["id", "paid_on", "amount", "channel", "state", "collected_on", "commission"]


class PaymentAllocationSerializer(serializers.ModelSerializer[PaymentAllocation]):
    installment_number = serializers.IntegerField(source="installment.number", read_only=True)
    due_date = serializers.DateField(source="installment.due_date", read_only=True)
    # Plain text in the schema: the installment statuses already have their enum there, and a
    # second name for the same choices makes the schema generator warn.
    previous_status = serializers.CharField(
        read_only=True, help_text=_("The installment's status before this payment: due, unpaid.")
    )

    class Meta:
        model = PaymentAllocation
        fields = ["installment", "installment_number", "due_date", "amount", "previous_status"]


class PaymentEventSerializer(serializers.ModelSerializer[PaymentEvent]):
    user: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = PaymentEvent
        fields = ["at", "user", "job", "from_state", "to_state", "detail"]


class PaymentDetailSerializer(serializers.ModelSerializer[Payment]):
    """A payment with what it settled, what it left unallocated and its history."""

    recorded_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    allocations = PaymentAllocationSerializer(many=True, read_only=True)
    unallocated_amount = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    is_locked = serializers.BooleanField(read_only=True)
    events = PaymentEventSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "case",
            "paid_on",
            "amount",
            "channel",
            "state",
            "collected_on",
            "commissioned_on",
            "commission_rate",
            "commission",
            "pre_invoice",
            "is_locked",
            "allocations",
            "unallocated_amount",
            "recorded_by",
            "created_at",
            "events",
        ]


class PaymentRecordSerializer(serializers.Serializer[Payment]):
    """What the debtor says it paid; it is allocated to the oldest open installments."""

    paid_on = serializers.DateField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    channel = serializers.ChoiceField(choices=PaymentChannel.choices, default=PaymentChannel.AGENCY)


class PaymentAdvanceSerializer(serializers.Serializer[Payment]):
    to_state = serializers.ChoiceField(choices=PaymentState.choices)
    on = serializers.DateField(
        required=False, help_text=_("The date of collection or commission; today if left out.")
    )


class PaymentCancelSerializer(serializers.Serializer[Payment]):
    reason = serializers.CharField(max_length=200)


class NoteSerializer(serializers.ModelSerializer[Note]):
    author: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Note
        fields = ["id", "kind", "text", "author", "job", "row_number", "created_at"]


class CaseSerializer(serializers.ModelSerializer[Case]):
    """A case as listed: the main debtor and the total requested come from annotations."""

    creditor: serializers.SlugRelatedField[Creditor] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    batch: serializers.SlugRelatedField[Batch] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    assignee: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    main_debtor_name = serializers.CharField(read_only=True, allow_null=True)
    main_debtor_tax_code = serializers.CharField(read_only=True, allow_null=True)
    total_requested = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "contract_number",
            "creditor",
            "batch",
            "main_debtor_name",
            "main_debtor_tax_code",
            "product",
            "state",
            "assignee",
            "needs_attention",
            "total_requested",
        ]


class CaseDetailSerializer(serializers.ModelSerializer[Case]):
    """A whole case: parties with their addresses and contacts, installments, payments, notes."""

    creditor: serializers.SlugRelatedField[Creditor] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    batch: serializers.SlugRelatedField[Batch] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    assignee: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    total_requested = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    parties = CasePartySerializer(many=True, read_only=True)
    installments = InstallmentSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)
    notes = NoteSerializer(many=True, read_only=True)
    reassignments: serializers.PrimaryKeyRelatedField[Case] = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True
    )

    class Meta:
        model = Case
        fields = [
            "id",
            "contract_number",
            "creditor_reference",
            "creditor",
            "batch",
            "product",
            "state",
            "assignee",
            "needs_attention",
            "principal",
            "interest",
            "charges",
            "other_charges",
            "total_requested",
            "previous",
            "reassignments",
            "parties",
            "installments",
            "payments",
            "notes",
            "created_at",
        ]
