# gitopsd in a container: `docker build -t gitopsd .` then see deploy/.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/gitopsd/gitopsd/internal/app.version=${VERSION}" \
    -o /out/gitopsd ./cmd/gitopsd

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gitopsd /usr/local/bin/gitopsd
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/gitopsd"]
CMD ["run"]
