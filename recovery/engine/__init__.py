"""Database disaster-recovery engine: backups with manifests, restore drills, PITR drills.

Plain Python (psycopg 3 + PostgreSQL's programs), no Django: the portal's recovery app stores the
dataclasses these functions return (`dataclasses.asdict` gives JSON-ready dicts).
"""
