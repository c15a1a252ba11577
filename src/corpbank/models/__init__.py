"""The domain's tables. One module per concept; import from here."""

from corpbank.models.audit import AuditChainHead, AuditEvent
from corpbank.models.backoffice import Operator, PendingAction
from corpbank.models.bank import Account, Branch, Contract, Organization
from corpbank.models.certificates import CertificateAuthority, CertificateIssuance, ClientCertificate
from corpbank.models.risk import KnownEnvironment, Question, SecretQuestion
from corpbank.models.secrets import FailureCounter, Principal, Secret, SecretKind
from corpbank.models.tokens import SoftwareTokenEnrolment, Token, TokenFee, TokenRegistration
from corpbank.models.users import CustomerUser, Permission, UsageLimit, UserPermission

__all__ = [
    "Account",
    "AuditChainHead",
    "AuditEvent",
    "Branch",
    "CertificateAuthority",
    "CertificateIssuance",
    "ClientCertificate",
    "Contract",
    "CustomerUser",
    "FailureCounter",
    "KnownEnvironment",
    "Operator",
    "Organization",
    "PendingAction",
    "Permission",
    "Principal",
    "Question",
    "Secret",
    "SecretKind",
    "SecretQuestion",
    "SoftwareTokenEnrolment",
    "Token",
    "TokenFee",
    "TokenRegistration",
    "UsageLimit",
    "UserPermission",
]
