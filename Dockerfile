# loop-server: a small image that runs as an unprivileged user and reports its health.
#   docker build -t loop-server .
#   docker run -p 5000:5000 -v loop-data:/data loop-server
# Settings come from LOOP_* variables (loop-server --sample-config lists them) or a TOML
# file given with LOOP_CONFIG. compose.yaml runs it with Redis and coturn.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY loop ./loop
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim-bookworm
COPY --from=build /install /usr/local
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin loop \
    && mkdir -p /data \
    && chown loop /data \
    && chmod 0700 /data
USER 10001
WORKDIR /data
ENV LOOP_HOST=0.0.0.0 \
    LOOP_PORT=5000 \
    LOOP_DATA_DIR=/data \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('LOOP_PORT', '5000') + '/__lbheartbeat__', timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["loop-server"]
