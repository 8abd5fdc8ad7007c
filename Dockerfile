# The edge apps image: the inference worker (entrypoint) and the vehicle injector.
#   docker build -t success6g-edge-apps .
#   docker run --env-file worker.env success6g-edge-apps                        # the worker
#   docker run --entrypoint python success6g-edge-apps -m injector --help        # the injector
# Only the apps' runtime (the `apps` extra, from uv.lock) is installed; sources are copied, not built.

FROM python:3.11.14-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_NO_CACHE=1 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /src
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --extra apps --no-install-project

FROM python:3.11.14-slim-bookworm AS runtime
# LightGBM's wheel links against OpenMP's runtime. lleaves compiles the boosters at the worker's first load
# with llvmlite's own LLVM (in its amd64 and aarch64 wheels): no C compiler needed; llvmlite links only
# libstdc++6 and zlib1g, which the Debian base already has (apt depends on them). Compiled boosters are
# cached in /tmp (an emptyDir in the pod), so a restarted container loads them in well under a second.
RUN apt-get update \
    && apt-get install -y --no-install-recommends "libgomp1=12.2.0-14+deb12u1" \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY apps ./apps
COPY injector ./injector
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
# the worker's METRICS_PORT default (apps/worker/settings.py)
EXPOSE 9108
ENTRYPOINT ["python", "-m", "apps.worker"]
