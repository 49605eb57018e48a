#!/usr/bin/env bash
# mkca.sh makes a throwaway PKI for trying the TLS syslog listener (RFC 5425)
# with mutual TLS: a CA, a server certificate for localhost and 127.0.0.1,
# and a client certificate, all signed by the CA. For tests and demos only:
# the CA key sits next to the certificates, unencrypted.
#
# usage: scripts/mkca.sh [DIR] [CLIENT_CN]
#   DIR        where to write (default configs/tls/, whose .gitignore keeps
#              the keys out of git); created if missing
#   CLIENT_CN  the client certificate's common name (default mx01.contoso.example)
#
# writes: ca.crt ca.key server.crt server.key client.crt client.key
# then:   siemfwd run -c configs/tls.yaml
#         openssl s_client -connect 127.0.0.1:6514 -CAfile DIR/ca.crt \
#             -cert DIR/client.crt -key DIR/client.key -quiet
set -euo pipefail

dir=${1:-configs/tls}
client_cn=${2:-mx01.contoso.example}
days=${DAYS:-30}

command -v openssl >/dev/null || { echo "mkca.sh: openssl is required (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
umask 077 # keys readable by the owner only

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# CA
key "$dir/ca.key"
openssl req -x509 -new -key "$dir/ca.key" -days "$days" -subj "/O=siemfwd demo/CN=siemfwd demo CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-out "$dir/ca.crt"

# sign NAME SUBJECT EXTENSIONS: a key, a request, and a certificate signed by the CA.
sign() {
	key "$dir/$1.key"
	openssl req -new -key "$dir/$1.key" -subj "$2" -out "$tmp/$1.csr"
	printf '%s\n' "$3" >"$tmp/$1.ext"
	openssl x509 -req -in "$tmp/$1.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
		-CAserial "$tmp/ca.srl" -days "$days" -extfile "$tmp/$1.ext" -out "$dir/$1.crt" 2>/dev/null
}

sign server "/O=siemfwd demo/CN=localhost" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"

sign client "/O=siemfwd demo/CN=$client_cn" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectAltName=DNS:$client_cn"

# Certificates are public; keep them readable by the service user.
chmod 644 "$dir/ca.crt" "$dir/server.crt" "$dir/client.crt"
openssl verify -CAfile "$dir/ca.crt" "$dir/server.crt" "$dir/client.crt" >/dev/null
echo "mkca.sh: wrote ca, server (localhost, 127.0.0.1) and client ($client_cn) certificates to $dir" >&2
