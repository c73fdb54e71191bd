"""The periodic sweep: every domain's due work, run in one pass by one replica at a time."""
