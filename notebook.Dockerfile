# JupyterHub's single-user image: Jupyter's scipy-notebook plus what the notebooks need (mlflow, boto3, LightGBM)
# and the project's model package (apps/), so users open notebooks/ where they run. Built and pushed by
# .github/workflows/image.yml as success6g-edge-notebook; the stacks pin it (images: {registry, tag}).
#   docker build -f notebook.Dockerfile -t success6g-edge-notebook .
# Packages come from uv.lock (the `apps` and `model` extras), the versions the tests ran with.

FROM quay.io/jupyter/scipy-notebook:2025-12-31
ENV UV_NO_CACHE=1 \
    UV_LINK_MODE=copy \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /tmp/success6g
COPY pyproject.toml uv.lock ./
# Into the image's own (conda) Python, which the notebook kernel runs; the exported list is hash-pinned.
RUN pip install --no-cache-dir "uv==0.13.9" \
    && uv export --frozen --no-dev --extra apps --extra model --no-emit-project --output-file requirements.txt \
    && uv pip install --python /opt/conda/bin/python --require-hashes -r requirements.txt \
    && rm -rf /tmp/success6g
WORKDIR /opt/success6g
COPY apps ./apps
COPY notebooks ./notebooks
COPY data ./data
ENV PYTHONPATH=/opt/success6g
WORKDIR /home/jovyan
# the base image's notebook user (jovyan, uid 1000), as z2jh starts it
USER 1000
