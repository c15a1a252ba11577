"""The banking operations of SPEC G on the ledger: inquiry (照会, R-G1) now; single transfers, payees and
limits (R-G2, R-G4, R-G6) next. Each checks the user's 業務権限 (permissions.py) and the factors the
operation table asks for (authorization.operations), and moves or reads money only through the
ledger's seam (corpbank.ledger)."""
