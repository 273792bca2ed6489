from core.db import DomainError


class EmailTaken(DomainError):
    code = "email_taken"
    status = 409


class RoleNotAllowed(DomainError):
    code = "role_not_allowed"


class InvalidToken(DomainError):
    code = "invalid_token"
    status = 400


class WeakPassword(DomainError):
    code = "weak_password"
