# siemfwd image for docker-compose.yml (users with Docker; our own machines test without it).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /siemfwd ./cmd/siemfwd

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /siemfwd /siemfwd
COPY configs /configs
USER 65534
ENTRYPOINT ["/siemfwd"]
CMD ["run", "-c", "/configs/docker.yaml"]
