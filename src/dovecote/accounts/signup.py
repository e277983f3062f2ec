"""Sign-up without authentication, and activation by a token mailed to the new user.

An account created here is inactive (it cannot send) until the token mailed to its
email address comes back through `PUT /v3/account-verify/verify/{activation_token}`;
a signed-up user can log in meanwhile, and ask for a new token.
"""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts import letters, store, tokens
from dovecote.accounts.letters import AccountMail
from dovecote.accounts.service import NewUser, create_account, normalize_country
from dovecote.core.errors import InvalidInput
from dovecote.core.models import Account, Principal, User
from dovecote.core.phone import InvalidRecipient, parse_recipient

MIN_PASSWORD = 8
MAX_PASSWORD = 200


@dataclass(frozen=True, slots=True)
class SignUp:
    username: str
    password: str
    email: str
    phone: str
    first_name: str
    last_name: str
    account_name: str
    country: str


def check_password(password: str, field: str = "password") -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"{field} must be {MIN_PASSWORD} to {MAX_PASSWORD} characters.", field=field
        )
    return password


def check_email(value: str, field: str = "user_email") -> str:
    try:
        return str(validate_email(value.strip(), check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise InvalidInput(f"{field} is not a valid email address: {exc}", field=field) from None


def check_phone(value: str, country: str, field: str = "user_phone") -> str:
    try:
        return parse_recipient(value, country).e164
    except InvalidRecipient as exc:
        raise InvalidInput(f"{field} is not a valid phone number: {exc}", field=field) from None


async def sign_up(
    conn: AsyncConnection,
    request: SignUp,
    *,
    mail: AccountMail,
    base_url: str,
    ttl: int,
    now: int,
) -> NewUser:
    """Create an inactive account with its main user, and mail the activation token."""
    country = normalize_country(request.country)
    created = await create_account(
        conn,
        username=request.username,
        password=check_password(request.password),
        email=check_email(request.email),
        phone=check_phone(request.phone, country),
        first_name=request.first_name.strip(),
        last_name=request.last_name.strip(),
        account_name=request.account_name.strip(),
        country=country,
        active=False,
    )
    token = await tokens.issue(conn, created.user.id, tokens.ACTIVATION, ttl=ttl, now=now)
    await mail(conn, created.user, letters.activation(created.user, token, base_url, ttl))
    return created


async def send_activation(
    conn: AsyncConnection,
    principal: Principal,
    *,
    mail: AccountMail,
    base_url: str,
    ttl: int,
    now: int,
) -> User:
    """Mail a fresh activation token to the caller (the one before stops working)."""
    if principal.account.active:
        raise InvalidInput("This account is already verified.")
    user = principal.user
    if not user.email:
        raise InvalidInput("This user has no email address to verify.", field="user_email")
    token = await tokens.issue(conn, user.id, tokens.ACTIVATION, ttl=ttl, now=now)
    await mail(conn, user, letters.activation(user, token, base_url, ttl))
    return user


async def activate(conn: AsyncConnection, token: str, *, now: int) -> tuple[User, Account]:
    """Activate the account whose live activation token this is; InvalidInput otherwise
    (unknown, used or expired tokens get the same answer)."""
    user_id = await tokens.use(conn, tokens.ACTIVATION, token, now=now)
    user = None if user_id is None else await store.get_user(conn, user_id)
    if user is None:
        raise InvalidInput(
            "The activation token is not valid or has expired.", field="activation_token"
        )
    await store.update_account(conn, user.account_id, {"active": True})
    account = await store.get_account(conn, user.account_id)
    assert account is not None  # foreign key
    return user, account
