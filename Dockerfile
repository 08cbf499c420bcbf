# The hub's image for docker-compose.yml: the `hub` command with pinned dependencies.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY hub hub
COPY matchers matchers
COPY streams streams
COPY sinks sinks
COPY sources sources
COPY monitoring monitoring
COPY dashboard dashboard
COPY schemas schemas
RUN pip install --no-cache-dir -c constraints.txt .
USER nobody
ENTRYPOINT []
CMD ["hub", "--help"]
