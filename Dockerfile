# The ami worker image: `ami worker` by default; the same image runs `ami codec-server`,
# `ami search-attributes register` and `ami db upgrade` (see docker-compose.yml).
# 3.11.14: CVE-2024-6923 (email header injection, fixed in 3.11.10) and the later tarfile/zipfile fixes.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AMI_DATA_DIR=/var/lib/ami

# A non-root user with a fixed uid, owner of the data directory (documents, SQLite fallback).
RUN groupadd --system --gid 10001 ami \
 && useradd --system --uid 10001 --gid ami --home-dir /app --no-create-home --shell /usr/sbin/nologin ami \
 && mkdir -p /app /var/lib/ami \
 && chown ami:ami /var/lib/ami

WORKDIR /app

# Dependencies first, in their own layer, pinned by constraints.txt (`make constraints`): the image
# never resolves at build time. Then the package itself, installed normally (not editable): the
# templates, the campaign files, the example candidatures and the fonts are package data, read
# through importlib.resources.
COPY pyproject.toml README.md constraints.txt ./
RUN pip install --constraint constraints.txt --requirement constraints.txt

COPY ami ./ami
# Bytecode compiled at install time: PYTHONDONTWRITEBYTECODE keeps the running worker from writing
# it, and the workflow sandbox imports ami/workflows/ again for every workflow run it starts or
# replays, so without .pyc files each run compiles those sources anew (docs/performance.md, "Replay").
RUN pip install --constraint constraints.txt --no-deps --compile . \
 && rm -rf /app/ami /app/build

# Fails the build when a source file or a bundled resource is missing from the installed package.
RUN cd / && python -c "import ami.app.cli.main, ami.worker.runner; from ami.models.campaign import load_campaign; load_campaign('ami-2024')" \
 && ami --help >/dev/null

USER ami:ami
VOLUME ["/var/lib/ami"]

ENTRYPOINT ["ami"]
CMD ["worker"]
