"""Built-in layouts, present in every installation right after `migrate`."""

from __future__ import annotations

from typing import Any

PAYMENT_CODES = {"RID": "SDD", "BOLLETTINO": "BOL", "BONIFICO": "BON", "CARTA": "CAR"}

PRESETS: list[dict[str, Any]] = [
    {
        "slug": "compass-affido",
        "name": "Compass — affido (portafoglio)",
        "kind": "acquisition",
        "description": "Compass Banca portfolio: one row per installment, case fields repeated.",
        "columns": {
            "batch_code": {"header": "LOTTO"},
            "contract_number": {"header": "NUM_PRATICA", "width": 10},
            "debtor_name": {"header": "COGNOME_NOME"},
            "tax_code": {"header": "COD_FISCALE"},
            "street": {"header": "INDIRIZZO"},
            "postcode": {"header": "CAP"},
            "city": {"header": "COMUNE", "check": "warn"},
            "province": {"header": "PROVINCIA"},
            "phone": {"header": "TELEFONO", "optional": True},
            "mobile": {"header": "CELLULARE", "optional": True},
            "email": {"header": "EMAIL", "optional": True},
            "product": {"header": "PRODOTTO", "optional": True},
            "installment_number": {"header": "NUM_RATA"},
            "due_date": {"header": "DATA_SCADENZA"},
            "amount": {"header": "IMPORTO_RATA"},
            "payment_method": {"header": "MOD_PAGAMENTO"},
        },
        "value_maps": {"payment_method": PAYMENT_CODES},
    },
    {
        "slug": "axactor-affido",
        "name": "Axactor — affido (posizioni)",
        "kind": "acquisition",
        "description": (
            "Axactor Italy portfolio: one row per position, with the original creditor, the "
            "amounts assigned and the debtor's residence. No batch column: the batch is named "
            "after the file."
        ),
        "sheet": "Posizioni",
        "columns": {
            "contract_number": {"header": "NUM_CONTRATTO"},
            "creditor_reference": {"header": "ID_POSIZIONE"},
            "original_creditor": {"header": "CEDENTE"},
            "debtor_surname": {"header": "COGNOME"},
            "debtor_first_name": {"header": "NOME"},
            "tax_code": {"header": "CODICE_FISCALE"},
            "birth_date": {"header": "DATA_NASCITA"},
            "street": {"header": "INDIRIZZO_RES"},
            "postcode": {"header": "CAP_RES"},
            "city": {"header": "COMUNE_RES", "check": "warn"},
            "province": {"header": "PROV_RES"},
            "phone": {"header": "TELEFONO_1", "optional": True},
            "mobile": {"header": "CELLULARE", "optional": True},
            "email": {"header": "EMAIL", "optional": True},
            "product": {"header": "PRODOTTO", "optional": True},
            "principal": {"header": "CAPITALE"},
            "interest": {"header": "INTERESSI"},
            "charges": {"header": "SPESE"},
            "total": {"header": "TOTALE_DEBITO", "optional": True},
            "acceleration_date": {"header": "DATA_DECADENZA"},
            "last_payment_date": {"header": "DATA_ULTIMO_PAGAMENTO", "optional": True},
        },
        "value_maps": {},
    },
    {
        "slug": "compass-insoluti",
        "name": "Compass — insoluti",
        "kind": "unpaid",
        "description": "Compass Banca unpaid installments with protest fees.",
        "columns": {
            "contract_number": {"header": "NUM_PRATICA", "width": 10},
            "debtor_name": {"header": "NOMINATIVO", "optional": True},
            "tax_code": {"header": "COD_FISCALE", "optional": True},
            "installment_number": {"header": "NUM_RATA", "optional": True},
            "due_date": {"header": "DATA_SCADENZA"},
            "amount": {"header": "IMPORTO_RATA"},
            "payment_method": {"header": "MOD_PAGAMENTO"},
            # Required: they are what tells an unpaid-installments file from a portfolio, which
            # has the other columns too and would otherwise mark every installment unpaid.
            "unpaid_on": {"header": "DATA_INSOLUTO"},
            "fees": {"header": "SPESE_PROTESTO", "aliases": ["SPESE"]},
        },
        "value_maps": {"payment_method": PAYMENT_CODES},
    },
    {
        "slug": "prefattura",
        "name": "Compass — prefattura",
        "kind": "pre_invoice",
        "description": (
            "Compass Banca pre-invoice: the payments on which it recognises the agency's "
            "commission, one row per payment."
        ),
        "columns": {
            "batch_code": {"header": "Lotto"},
            "contract_number": {"header": "Contratto", "aliases": ["NUM_PRATICA"], "width": 10},
            "debtor_name": {"header": "Nominativo", "optional": True},
            "paid_on": {"header": "DataPagamento", "aliases": ["DATA_PAGAMENTO"]},
            "amount": {"header": "Importo", "aliases": ["IMPORTO_PAGATO"]},
        },
        "value_maps": {},
    },
]


def install_presets(layout_model: Any) -> None:
    """Create or refresh the built-in layouts; works with the historical model in migrations."""
    for preset in PRESETS:
        values = {k: v for k, v in preset.items() if k != "slug"}
        layout_model.objects.update_or_create(
            slug=preset["slug"], defaults={**values, "is_preset": True, "creditor": None}
        )
