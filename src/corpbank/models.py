"""Django finds an app's models in its ``models`` module: this one gathers the domain packages' models
under the one app label ``corpbank``, so that their tables and migrations stay where they were before
the domains had packages of their own. Nothing else imports it: import a model from its domain."""

from corpbank.approvals.models import PendingAction
from corpbank.authentication.models import KnownEnvironment, Question, SecretQuestion
from corpbank.backoffice.models import Operator, OperatorPasswordHalf, OperatorTotp
from corpbank.calendar.models import ClosedDay, ServiceSettings
from corpbank.certificates.models import CertificateAuthority, CertificateIssuance, ClientCertificate
from corpbank.core.models import AuditChainHead, AuditEvent, AuditSeal
from corpbank.identity.models import FailureCounter, Principal, Secret, UnknownLoginFailure
from corpbank.ledger.models import LedgerAccount, Leg, Posting
from corpbank.organizations.models import (
    Account,
    Branch,
    Contract,
    CustomerUser,
    Organization,
    Permission,
    UsageLimit,
    UserPermission,
)
from corpbank.payments.models import FeeRule, Payee, Transfer
from corpbank.tokens.models import SoftwareTokenEnrolment, Token, TokenFee, TokenRegistration

__all__ = [
    "Account",
    "AuditChainHead",
    "AuditEvent",
    "AuditSeal",
    "Branch",
    "CertificateAuthority",
    "CertificateIssuance",
    "ClientCertificate",
    "ClosedDay",
    "Contract",
    "CustomerUser",
    "FailureCounter",
    "FeeRule",
    "KnownEnvironment",
    "LedgerAccount",
    "Leg",
    "Operator",
    "OperatorPasswordHalf",
    "OperatorTotp",
    "Organization",
    "Payee",
    "PendingAction",
    "Permission",
    "Posting",
    "Principal",
    "Question",
    "Secret",
    "SecretQuestion",
    "ServiceSettings",
    "SoftwareTokenEnrolment",
    "Token",
    "TokenFee",
    "TokenRegistration",
    "Transfer",
    "UnknownLoginFailure",
    "UsageLimit",
    "UserPermission",
]
