# syntax=docker/dockerfile:1
# One image for the worker, the HTTP API and the CLI (deploy/compose.yaml, deploy/k8s/):
#   worker   python -m worker [--queues all|model|tools]   (the default command)
#   API      python -m ledgerd.api --host 0.0.0.0 --port 8000
#   CLI      ledgerd connection --check, ledgerd status <id>, …
# Installed from uv.lock exactly (`--locked`), without the dev group and without the
# dev-stack extra: no Temporal dev server, no embedded PostgreSQL, no test tools inside.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir uv==0.13.10
WORKDIR /src
# Dependencies first, in their own layer: a code change does not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-project
COPY accounting/ accounting/
COPY activities/ activities/
COPY ledgerd/ ledgerd/
COPY starter/ starter/
COPY tools/ tools/
COPY workflows/ workflows/
COPY worker.py ./
# --no-editable: the project goes into site-packages as a wheel, so the runtime stage
# needs the virtualenv alone, not the source tree.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="ledgerd" \
      org.opencontainers.image.description="ledgerd worker, HTTP API and CLI"
RUN groupadd --system --gid 10001 ledgerd \
    && useradd --system --uid 10001 --gid ledgerd --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin ledgerd
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# A read-only root filesystem works: nothing is written except to /tmp.
WORKDIR /tmp
USER 10001:10001
# 8000: the HTTP API; 8081: the worker's /healthz (LEDGERD_WORKER_HEALTH_PORT).
EXPOSE 8000 8081
CMD ["python", "-m", "worker"]
