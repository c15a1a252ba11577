"""corpbank: internet banking for organizations (団体向けインターネットバンキング)."""
