"""Bulk upserts by external_id, shared by the domains that offer them."""
