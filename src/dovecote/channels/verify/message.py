"""The email that carries an EmailVerify code: subject, plain text and responsive HTML.

Table layout with inline styles, because that is what mail clients render consistently
(Outlook ignores most CSS; Gmail drops <style> in some views). The code sits in the
subject line too, so it shows in notifications and can be read without opening the mail.
"""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CodeEmail:
    subject: str
    html: str
    text: str


def render(*, code: str, brand: str, ttl_seconds: int) -> CodeEmail:
    lifetime = describe_lifetime(ttl_seconds)
    subject = f"{code} is your {brand} verification code"
    text = (
        f"Your {brand} verification code is:\n\n"
        f"    {code}\n\n"
        f"Enter it where you were asked. It expires in {lifetime} and works once.\n\n"
        "If you did not ask for a code, you can ignore this email: nothing happens "
        "without it.\n"
    )
    return CodeEmail(subject=subject, html=_html(code, brand, lifetime), text=text)


def describe_lifetime(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour" + ("s" if hours != 1 else "")
    if seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} minute" + ("s" if minutes != 1 else "")
    return f"{seconds} second" + ("s" if seconds != 1 else "")


def _html(code: str, brand: str, lifetime: str) -> str:
    brand_html = html.escape(brand)
    code_html = html.escape(code)
    # Letter spacing makes a long code easy to read back; the preheader is what inbox
    # lists show next to the subject.
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="x-apple-disable-message-reformatting">
<title>{brand_html} verification code</title>
</head>
<body style="margin:0;padding:0;background:#f4f5f7;">
<div style="display:none;max-height:0;overflow:hidden;">Your {brand_html} verification code is {code_html}.</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f4f5f7;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:480px;background:#ffffff;border-radius:8px;">
<tr><td style="padding:32px 28px 8px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:18px;font-weight:600;color:#111827;">{brand_html}</td></tr>
<tr><td style="padding:8px 28px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:24px;color:#374151;">Your verification code is:</td></tr>
<tr><td align="center" style="padding:16px 28px;">
<div style="display:inline-block;padding:12px 20px;background:#f3f4f6;border-radius:6px;font-family:'SFMono-Regular',Menlo,Consolas,'Liberation Mono',monospace;font-size:32px;font-weight:700;letter-spacing:6px;color:#111827;">{code_html}</div>
</td></tr>
<tr><td style="padding:8px 28px 32px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:14px;line-height:22px;color:#6b7280;">Enter it where you were asked. It expires in {lifetime} and works once. If you did not ask for a code, you can ignore this email.</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
"""
