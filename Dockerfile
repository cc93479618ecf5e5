# csomatch container image.
#
# Build:  docker build -t csomatch .
# Run:    docker run -e CSOMATCH_DATABASE_URL=postgresql://user:pass@host:5432/csomatch \
#             -p 8000:8000 csomatch
#
# The image needs an external PostgreSQL reachable through CSOMATCH_DATABASE_URL;
# `csomatch serve` applies the migrations and then serves on CSOMATCH_HOST:CSOMATCH_PORT.

# ---- builder: install the project (non-editable) into a self-contained venv ----
FROM python:3.11-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/ ./src/
# The gettext catalogues (.po, in the package) compiled into the .mo files the service reads.
RUN pip install --no-cache-dir . \
    && python -m csomatch.i18n.catalogues compile

# ---- runtime: slim image with only the venv and the seed data ----
FROM python:3.11-slim-bookworm AS runtime

RUN groupadd --system --gid 10001 csomatch \
    && useradd --system --no-log-init --uid 10001 --gid 10001 \
        --create-home --home-dir /home/csomatch --shell /usr/sbin/nologin csomatch

COPY --from=builder /opt/venv /opt/venv
COPY seed_data/ /app/seed_data/

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CSOMATCH_HOST=0.0.0.0 \
    CSOMATCH_PORT=8000 \
    CSOMATCH_SEED_DIR=/app/seed_data \
    CSOMATCH_HOME=/home/csomatch/.csomatch

WORKDIR /home/csomatch
USER csomatch

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

CMD ["csomatch", "serve"]
