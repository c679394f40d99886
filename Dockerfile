# refit's image, for people who build with Docker:
#
#   docker build -t refit:latest --build-arg VERSION=$(git describe --always --dirty) \
#     --build-arg REVISION=$(git rev-parse HEAD) --build-arg CREATED=$(git log -1 --format=%cI) .
#
# It holds what `make image` puts in its image (cmd/mkimage, no Docker needed): the static binary, the CA bundle, a
# passwd file for root, an empty /data volume, the same settings. CI builds that one, not this file.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=
ARG CREATED=
# The static build of `make build`: SQLite through cgo, linked in, so the binary runs FROM scratch.
RUN CGO_ENABLED=1 go build -trimpath -tags 'netgo osusergo sqlite_omit_load_extension' \
	-ldflags "-s -w -linkmode external -extldflags -static \
	-X main.version=${VERSION} -X main.commit=${REVISION} -X main.buildTime=${CREATED}" \
	-o /rootfs/refit ./cmd/refit
RUN mkdir -p /rootfs/etc/ssl/certs /rootfs/data /rootfs/root /rootfs/tmp \
	&& cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
	&& echo 'root:x:0:0:root:/root:/sbin/nologin' >/rootfs/etc/passwd \
	&& echo 'root:x:0:' >/rootfs/etc/group \
	&& chmod 700 /rootfs/data /rootfs/root && chmod 1777 /rootfs/tmp

FROM scratch
COPY --from=build /rootfs/ /
ENV REFIT_DB=/data/refit.db REFIT_ADDR=:8099
VOLUME /data
EXPOSE 8099
# root: refit needs the Docker socket, and whoever may use the socket is root on the host anyway.
USER root
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/refit", "healthcheck"]
ARG VERSION=dev
ARG REVISION=
ARG CREATED=
ARG SOURCE=unknown
LABEL org.opencontainers.image.title=refit \
	org.opencontainers.image.source=${SOURCE} \
	org.opencontainers.image.version=${VERSION} \
	org.opencontainers.image.revision=${REVISION} \
	org.opencontainers.image.created=${CREATED}
STOPSIGNAL SIGTERM
ENTRYPOINT ["/refit"]
CMD ["serve"]
