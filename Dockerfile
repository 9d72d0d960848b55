# crmsync's container image: a static binary on Debian slim.
#
#   docker build -t crmsync .
#   docker run --rm crmsync --help
#
# docker-compose.yml builds it for its migrate and worker services.

# --- build ---------------------------------------------------------------
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/crmsync ./cmd/crmsync

# --- runtime -------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
	&& apt-get install -y --no-install-recommends ca-certificates tzdata \
	&& rm -rf /var/lib/apt/lists/* \
	&& useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin crmsync
COPY --from=build /out/crmsync /usr/local/bin/crmsync
USER crmsync
ENV CRMSYNC_CONFIG=/etc/crmsync/crmsync.yaml
# The admin HTTP of `crmsync worker --http 0.0.0.0:8080` (token required).
EXPOSE 8080
ENTRYPOINT ["crmsync"]
CMD ["worker", "--http", "0.0.0.0:8080"]
