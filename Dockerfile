FROM python:3.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY gateway gateway
COPY ledger ledger
COPY sensors sensors
COPY traceability traceability
COPY tracehub tracehub
RUN pip install --no-cache-dir -c constraints.txt . "psycopg[binary]>=3.1"
EXPOSE 8000
CMD ["tracehub", "run"]
