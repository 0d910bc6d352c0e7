#!/bin/sh
# mkcerts.sh DIR NAME... : a throw-away test CA in DIR (ca.crt, ca.key) and,
# for each NAME, NAME.crt/NAME.key signed by it, CN=NAME, usable both as a
# TLS server certificate for 127.0.0.1/localhost and as a client
# certificate (an agent shows its own certificate to its promotion
# sources). Also other-ca.crt/.key and intruder.crt/.key signed by that
# other CA, for the "certificate from another CA" case.
# (tests/lib/kube-certs.sh makes one server and one client certificate for
# the Kubernetes stand-in; agents need several dual-use ones.)
set -eu
DIR=$1; shift
cd "$DIR"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
mkca() {
	key "$1.key"
	openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 2 -subj "/CN=$2" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
# leaf CA NAME
leaf() {
	key "$2.key"
	openssl req -new -key "$2.key" -out "$2.csr" -subj "/O=faultline-test/CN=$2" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' >"$2.ext"
	openssl x509 -req -in "$2.csr" -CA "$1.crt" -CAkey "$1.key" -CAcreateserial \
		-out "$2.crt" -days 2 -extfile "$2.ext" 2>/dev/null
	rm -f "$2.csr" "$2.ext"
}
mkca ca faultline-test-ca
mkca other-ca other-test-ca
for n in "$@"; do leaf ca "$n"; done
leaf other-ca intruder
chmod 600 ./*.key
