# gitopsd in a container, for those who build with Docker:
#   docker build --build-arg VERSION=v1.2.0 --build-arg COMMIT=$(git rev-parse HEAD) -t gitopsd .
# `make image` builds the same image without a Docker engine. Both lay out
# the files with the same code (hack/image, internal/image), and declare the
# same user, entrypoint, environment and labels (internal/image checks that
# this file agrees with it).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=
ARG CREATED=0
RUN go run ./hack/image -version="${VERSION}" -commit="${COMMIT}" -created="${CREATED}" -rootfs=/rootfs

FROM scratch
COPY --from=build /rootfs /
COPY --from=build --chown=65532:65532 /rootfs/home/nonroot /home/nonroot
ARG VERSION=dev
ARG COMMIT=
LABEL org.opencontainers.image.title="gitopsd" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.source="https://github.com/gitopsd/gitopsd"
ENV PATH=/usr/local/bin HOME=/home/nonroot
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/gitopsd"]
CMD ["run"]
