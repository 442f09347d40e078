"""Who may write: accounts, roles and the audit log."""
