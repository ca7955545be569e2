# The kube-acs image the Helm chart runs (ghcr.io/kube-acs/kube-acs): one static-ish binary
# for `standalone`, `edge` and `operator`, running as a non-root user.
#   docker build -t ghcr.io/kube-acs/kube-acs:0.1.0 .
FROM rust:1.89-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p kube-acs && strip target/release/kube-acs

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/kube-acs /usr/local/bin/kube-acs
USER 65532:65532
EXPOSE 7547 7557 7567 8081
ENTRYPOINT ["/usr/local/bin/kube-acs"]
CMD ["standalone", "--data-dir", "/var/lib/kube-acs"]
