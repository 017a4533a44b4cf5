# Multi-stage build of `care360 serve`: a static binary (time-zone data is
# embedded) on a distroless base that runs as a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/care360 ./cmd/care360

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/care360 /care360
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/care360"]
CMD ["serve"]
