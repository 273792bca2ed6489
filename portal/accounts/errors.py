from core.errors import DomainError


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


class InvalidTokenLifetime(DomainError):
    code = "validation_error"


class TokenExpired(DomainError):
    code = "token_expired"
    status = 401


class ApiOnlyAccount(DomainError):
    code = "api_only_account"
    status = 403


class WebOnlyAccount(DomainError):
    code = "web_only_account"
    status = 403
