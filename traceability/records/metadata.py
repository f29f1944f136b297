"""The one ``MetaData`` every records table is defined on (``schema``, ``repositorytables``)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
