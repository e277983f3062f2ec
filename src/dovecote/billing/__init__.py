"""Money: the ledger every balance change writes, payments, recharge, invoices, currencies."""
