"""What is held on one person, gathered across every domain for a subject access request."""
