"""The database: engines, the declarative base, column types, the unit of work and its commit,
the hot-read pool, the query helpers repositories share, versions and PATCH bodies, and the
migrations runner."""
