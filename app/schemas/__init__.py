"""What the domains' schemas are built from: base models, JSON writing, field types."""
