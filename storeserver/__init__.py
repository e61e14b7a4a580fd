"""The store server: several registers' journals, a back office in the browser and off-device
backups, on PostgreSQL (host code, docs/store-server.md).

    storeserver/cluster.py    a private PostgreSQL cluster (make sim, make test)
    storeserver/db.py         versioned SQL files (schema/), the connection pool
    storeserver/ingest.py     journal replication: hash chain, TSE signatures, fork alarms
    storeserver/api.py        what the terminals speak: enrolment, journal, master data, backups
    storeserver/masterdata.py master data versions, validated as a terminal would
    storeserver/export.py     the store's DSFinV-K export over every register
    storeserver/auth.py       back office users, sessions, CSRF, lockout
    storeserver/backoffice.py the back office's pages (aiohttp + Jinja2 + plotly.js)
    storeserver/reports.py    the figures the pages show
    storeserver/app.py        the application; StoreServer runs it in a thread
"""
