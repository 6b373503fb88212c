"""Pre-invoices (prefatture): the creditor lists the payments on which it recognises the
agency's commission; each row is matched to a payment of the case and, once found, the payment
is collected and commissioned and joins a draft pre-invoice.

For each row, in order of payment date within a case:

- the case is the creditor's case with that batch code and contract (the most recent when the
  contract was assigned again); none: `contract_not_found`;
- the payment is the case's registered payment with the same date and amount. Reported or
  collected, it becomes commissioned; already commissioned or invoiced, or on a confirmed
  pre-invoice, or matched by an earlier row of the same file: `already_commissioned`, and
  nothing changes;
- else a payment is created for open installments whose outstanding amounts add up to the
  amount exactly: first the earliest open installments in due-date order (one, two or more in a
  row), else the one open installment of exactly that amount whose due date is nearest the
  payment date (the debtor paid a later installment first);
- else `amount_not_matched`, with the closest candidate in the message: never forced.

Rows are staged in a temporary table and written to ImportRow with their case in one
statement; the payments and open installments of the cases are then read a few thousand cases
at a time, matched in memory, and every change is written back with bulk inserts and
UPDATE ... FROM statements.
"""

from imports.prefattura.importer import PreInvoiceImporter

__all__ = ["PreInvoiceImporter"]
