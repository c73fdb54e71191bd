"""The database: engines, the declarative base, column types, the unit of work and its commit,
the hot-read pool, the query helpers repositories share, and the migrations runner."""
