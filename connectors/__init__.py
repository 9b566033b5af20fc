"""Social channel kinds, one module each, all behind the interface in `connectors.base`.

Connectors know nothing of Flask or the database: each gets its settings, its decrypted
credentials and an HTTP session restricted to its hosts, and speaks to one network.
"""
