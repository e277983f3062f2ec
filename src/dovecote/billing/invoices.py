"""A PDF invoice per recharge transaction, drawn with fpdf2.

fpdf2 is pure Python (no system libraries to install beside Dovecote), maintained
(releases every few months), writes PDF directly without an HTML/CSS engine, and the
test suite already used it; the core fonts cover Latin-1, which is what an invoice of
ASCII names and amounts needs (other characters are replaced, never a crash).
"""

from __future__ import annotations

import time

from dovecote.billing.recharge import Transaction


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def render(made: Transaction, *, account_name: str, billing_email: str) -> bytes:
    # Imported here: fpdf (with fontTools) costs ~0.7 s of CPU to import, which every
    # process start paid for an invoice it rarely draws.
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(f"Invoice {made.id}")
    pdf.set_creator("Dovecote")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(0, 12, "Tax invoice", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    day = time.strftime("%Y-%m-%d", time.gmtime(made.created_at))
    lines = (
        f"Invoice number: {made.id}",
        f"Date: {day} (UTC)",
        f"Account: {account_name or made.account_id}",
        f"Billing email: {billing_email or '-'}",
        "",
        f"Recharge package #{made.package_id}",
        f"Paid by {made.card_brand} ending in {made.card_last4}",
    )
    for line in lines:
        pdf.cell(0, 7, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(0, 9, f"Total: {made.amount:.2f} {made.currency}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
