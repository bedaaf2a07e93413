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

# Dependencies first, in their own layer: the package directories are empty stubs here, replaced by
# the sources below. The install is editable on purpose: the templates, the campaign files and the
# example candidatures are found next to the packages, in /app.
# constraints.txt (`make constraints`) pins every version: the image never resolves at build time.
COPY pyproject.toml README.md constraints.txt ./
RUN mkdir -p ami/mail ami/documents activities models workflows \
 && touch ami/__init__.py ami/mail/__init__.py ami/documents/__init__.py \
          activities/__init__.py models/__init__.py workflows/__init__.py worker.py \
 && pip install --constraint constraints.txt --editable . \
 && rm -rf ami activities models workflows worker.py

COPY ami ./ami
COPY activities ./activities
COPY models ./models
COPY workflows ./workflows
COPY worker.py ./
COPY config ./config
COPY templates ./templates
COPY examples ./examples

# Bytecode compiled at build time: PYTHONDONTWRITEBYTECODE keeps the running worker from writing it,
# and the workflow sandbox imports workflows/ again for every workflow run it starts or replays, so
# without .pyc files each run compiles those sources anew (docs/performance.md, "Replay").
RUN python -m compileall -q ami activities models workflows worker.py

# Fails the build when a source file or a bundled resource is missing.
RUN python -c "import ami.cli, worker; from models.campaign import load_campaign; load_campaign('ami-2024')" \
 && ami --help >/dev/null

USER ami:ami
VOLUME ["/var/lib/ami"]

ENTRYPOINT ["ami"]
CMD ["worker"]
