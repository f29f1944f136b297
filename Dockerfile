FROM python:3.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY gateway gateway
COPY grafana grafana
COPY gs1 gs1
COPY influx influx
COPY ledger ledger
COPY notify notify
COPY sensors sensors
COPY supervision supervision
COPY traceability traceability
COPY web web
COPY tracehub tracehub
# The grafana extra (tracehub grafana publish) brings urllib3-future; building it from
# source with URLLIB3_NO_OVERRIDE keeps the real urllib3 for web3/requests.
RUN URLLIB3_NO_OVERRIDE=1 pip install --no-cache-dir --no-binary urllib3-future \
    -c constraints.txt ".[grafana]" "psycopg[binary]>=3.1"
EXPOSE 8000
CMD ["tracehub", "run"]
