"""Reports: what the debriefs teach the agency, computed in SQL."""
