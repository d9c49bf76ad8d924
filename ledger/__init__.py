"""The only Python code that talks to the chain: compile, deploy, clients, transactions, indexer."""
