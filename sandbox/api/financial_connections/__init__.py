"""Financial Connections: accounts, refreshes, owners, transactions, sessions."""
