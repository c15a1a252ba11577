"""Every state change of the domain lives here, one function per act, in one transaction with its
audit event. Views and API endpoints only parse input, check who is asking, and call one of these."""
